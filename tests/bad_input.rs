//! Bad input, table-driven: every flag and every file the tool reads, given something wrong.
//! Each case must give exit code 2 and one `error:` line on stderr that names the flag or the
//! file (and the line, for files with lines), with no panic and no backtrace — even with
//! RUST_BACKTRACE=1 — and nothing on stdout. None of them may send a request.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

/// Run the binary with RUST_BACKTRACE=1; returns (code, stdout, stderr).
fn qps(args: &[&str]) -> (i32, String, String) {
    run_cmd(bin().args(args).env("RUST_BACKTRACE", "1"))
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn every_wrong_invocation_and_file_is_one_line_and_exit_2() {
    let srv = server();
    let url = srv.url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let dir_path = d.to_str().unwrap().to_string();
    // One file, two spellings.
    let same_a = format!("{dir_path}/r.json");
    let same_b = format!("{dir_path}/./sub/../r.json");
    std::fs::create_dir(d.join("sub")).unwrap();

    // A real report to damage, from a real (tiny) run against a second server.
    let other = common::server();
    let good = d.join("good.json");
    save_run(
        &other.url(),
        &["-n", "20", "-c", "2"],
        good.to_str().unwrap(),
    );
    let good_text = std::fs::read_to_string(&good).unwrap();
    let good_json: Value = serde_json::from_str(&good_text).unwrap();
    let good = good.to_str().unwrap().to_string();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = good_json.clone();
        f(&mut v);
        serde_json::to_string_pretty(&v).unwrap()
    };
    // A saved run in which every request failed: it measured no TTFB (no response came).
    let failed = d.join("failed.json").to_str().unwrap().to_string();
    let nowhere = format!("http://127.0.0.1:{}/", closed_port());
    let (code, _, err) = qps(&[
        "--url", &nowhere, "-n", "3", "-c", "1", "-q", "--json", &failed,
    ]);
    assert_eq!(code, 0, "{err}");
    // Two saved runs judged by different --goodput objectives.
    let goodput_run = |name: &str, objectives: &str| {
        let path = d.join(name).to_str().unwrap().to_string();
        save_run(
            &other.url(),
            &["-n", "20", "-c", "1", "--goodput", objectives],
            &path,
        );
        path
    };
    let g1 = goodput_run("g1.json", "e2el<1s");
    let g2 = goodput_run("g2.json", "e2el<2s");
    // Other qpsbench JSON files: a `find --json` result (its schema's kind), and a real
    // `compare --json`.
    let found = write(
        d,
        "found.json",
        "{\n  \"kind\": \"qpsbench-find\",\n  \"version\": \"0.1.0\",\n  \"capacity\": null\n}\n",
    );
    let compared = d.join("compared.json").to_str().unwrap().to_string();
    let (code, _, err) = qps(&["compare", &good, &g1, "--json", &compared]);
    assert_eq!(code, 0, "{err}");
    // A run of 3 stages, for stage thresholds against a baseline of one.
    let ramp = d.join("ramp.json").to_str().unwrap().to_string();
    save_run(&other.url(), &["--ramp", "1,1,1", "--step", "0.2s"], &ramp);
    let not_json = write(d, "not.json", "hello, I am not JSON\n");
    let cut = write(d, "cut.json", &good_text[..good_text.len() / 2]);
    let foreign = write(d, "foreign.json", "{\n  \"tool\": \"wrk\"\n}\n");
    let future = write(
        d,
        "future.json",
        &with(&|v| v["report_format"] = Value::from(99)),
    );
    let damaged = write(
        d,
        "damaged.json",
        &with(&|v| v["total"]["hdr"]["latency_us"] = Value::from("not-a-histogram!")),
    );
    let elsewhere = write(
        d,
        "elsewhere.json",
        &with(&|v| v["config"]["url"] = Value::from("http://10.9.9.9/")),
    );
    let missing_field = write(
        d,
        "incomplete.json",
        &with(&|v| {
            v.as_object_mut().unwrap().remove("total");
        }),
    );
    let missing = d.join("missing.json").to_str().unwrap().to_string();
    // A baseline by two other names: another spelling and a symlink (issue 17).
    let elsewhere_dot = format!("{dir_path}/./sub/../elsewhere.json");
    let elsewhere_link = d.join("link.json");
    std::os::unix::fs::symlink(&elsewhere, &elsewhere_link).unwrap();
    let elsewhere_link = elsewhere_link.to_str().unwrap().to_string();
    let elsewhere_text = std::fs::read_to_string(&elsewhere).unwrap();
    // The other files a run reads (targets, data, prompts, keys).
    let targets_bad = write(
        d,
        "targets.txt",
        &format!("GET {url}\nthis line is nothing\n"),
    );
    let data_bad = write(d, "data.csv", "user,pass\nalice\n");
    let empty = write(d, "empty.txt", "\n\n");
    let targets_missing = d.join("no-targets.txt").to_str().unwrap().to_string();
    let data_missing = d.join("no-data.csv").to_str().unwrap().to_string();
    let chat = format!("{url}/v1/chat/completions");
    let tokenizer_missing = d.join("no-tokenizer.json").to_str().unwrap().to_string();
    let body_missing = format!("@{}", d.join("no-body").display());
    let body_dir = format!("@{dir_path}");
    let no_dir = d.join("no/such/dir/out");
    let no_dir = no_dir.to_str().unwrap();
    // --samples: the format from the extension, a place that can be written.
    let samples = format!("{dir_path}/s.csv");
    let samples_no_dir = format!("{dir_path}/no/such/dir/s.csv");
    let samples_dir = format!("{dir_path}/a-directory.csv");
    std::fs::create_dir(&samples_dir).unwrap();
    // --dataset files: missing, a directory, not JSON, nothing usable, a bad line, not UTF-8.
    let sg_missing = d.join("no-sg.json").to_str().unwrap().to_string();
    let sg_none = write(
        d,
        "sg-none.json",
        "[{\"conversations\": [{\"from\": \"human\", \"value\": \"alone\"}]}]",
    );
    let jsonl_missing = d.join("no-p.jsonl").to_str().unwrap().to_string();
    let jsonl_bad = write(d, "p.jsonl", "{\"prompt\": \"a\"}\nnope\n");
    let jsonl_bin = d.join("bin.jsonl");
    std::fs::write(&jsonl_bin, b"{\"prompt\": \"\xff\"}\n").unwrap();
    let jsonl_bin = jsonl_bin.to_str().unwrap().to_string();
    let jsonl_good = write(d, "good.jsonl", "{\"prompt\": \"a\"}\n");
    // A port something listens on, for --metrics-addr.
    let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = listening.local_addr().unwrap().to_string();

    // (arguments, what the one line must mention)
    #[rustfmt::skip]
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        // --url
        (vec!["run", "--url", "localhost:8080"], vec!["--url", "no scheme"]),
        (vec!["run", "--url", "ftp://127.0.0.1/"], vec!["--url", "ftp"]),
        (vec!["run", "--url", "http://"], vec!["--url"]),
        (vec!["run", "--url", "http://exa mple/"], vec!["--url"]),
        (vec!["run", "--url", "http://127.0.0.1:99999/"], vec!["--url", "port 99999", "65535"]),
        (vec!["run", "--url", "http://u:p@[::1]:0/"], vec!["--url", "port 0"]),
        (vec!["run", "-c", "2"], vec!["--url"]),
        // a typo keeps clap's suggestion on its one line
        (vec!["--url", &url, "--duratoin", "2"], vec!["--duratoin", "'--duration'", "see qpsbench run --help"]),
        // the help pointer names the subcommand whose flags were given
        (vec!["serve", "--bogus"], vec!["--bogus", "see qpsbench serve --help"]),
        // wrk's, hey's and k6's names for what qpsbench calls --users get the right tip
        (vec!["--url", &url, "--threads", "4"], vec!["--threads", "'--users N'"]),
        (vec!["--url", &url, "--proxy", "http://127.0.0.1:99999"], vec!["--proxy", "port 99999"]),
        (vec!["--url", &url, "http://127.0.0.1:2/"], vec!["--url", "[URL]"]),
        (vec!["--url", &url, "--ramp", "-1,2", "--step", "1s"], vec!["--ramp", "'-1' is not a number of users"]),
        (vec!["--url", &url, "--seed", "-1"], vec!["--seed", "not a seed"]),
        (vec!["--url", &url, "-c", "-1"], vec!["--users", "not a number of users"]),
        // users, rate, counts, durations
        (vec!["--url", &url, "--users", "0"], vec!["--users", "at least 1"]),
        (vec!["--url", &url, "--users", "-3"], vec!["--users"]),
        (vec!["--url", &url, "--users", "lots"], vec!["--users"]),
        (vec!["--url", &url, "--users", "1000000"], vec!["--users", "more than"]),
        (vec!["--url", &url, "--rps", "0"], vec!["--rps"]),
        (vec!["--url", &url, "--rps", "fast"], vec!["--rps", "not a rate"]),
        (vec!["--url", &url, "--rps", "1e12"], vec!["--rps"]),
        (vec!["--url", &url, "--rps", "1e-8"], vec!["--rps", "at least 0.001"]),
        (vec!["--url", &url, "--rps", "-1k"], vec!["--rps"]),
        // rate stages and arrivals
        (vec!["--url", &url, "--rps", "100,200"], vec!["--rps", "--step"]),
        (vec!["--url", &url, "--rps", "100,,200", "--step", "1s"], vec!["--rps", "empty rate"]),
        (vec!["--url", &url, "--rps", "100..x:10", "--step", "1s"], vec!["--rps", "not a rate"]),
        (vec!["--url", &url, "--rps", "1..1000000:0.01", "--step", "1s"], vec!["--rps", "more than 10000 rates"]),
        (vec!["--url", &url, "--rps", "100,200", "--step", "1s", "-z", "5"], vec!["--duration", "does not go with"]),
        (vec!["--url", &url, "--rps", "100,200", "--step", "1s", "--ramp-up", "2s"], vec!["--ramp-up"]),
        (vec!["--url", &url, "--ramp", "1,2,3", "--rps", "10,20", "--step", "1s"], vec!["--rps has 2 rates and --ramp 3 stages"]),
        (vec!["--url", &url, "--step", "1s"], vec!["--step", "--ramp"]),
        (vec!["--url", &url, "--warmup", "0"], vec!["--warmup", "above 0"]),
        (vec!["--url", &url, "--rps", "10,20", "--step", "1s", "-n", "5"], vec!["--requests", "several --rps rates"]),
        (vec!["--url", &url, "--iterations", "0"], vec!["--iterations", "at least 1"]),
        (vec!["--url", &url, "--iterations", "2", "-n", "5"], vec!["--iterations", "--requests"]),
        (vec!["--url", &url, "--name", " "], vec!["--name"]),
        (vec!["--url", &url, "--warmup", "-1s"], vec!["--warmup", "negative"]),
        (vec!["--url", &url, "--warmup", "5s", "-n", "10"], vec!["--warmup", "--requests"]),
        (vec!["--url", &url, "--arrival", "poisson"], vec!["--rps"]),
        (vec!["--url", &url, "--rps", "10", "--arrival", "bursty"], vec!["--arrival", "bursty"]),
        (vec!["--url", &url, "--rps", "10", "--burstiness", "0"], vec!["--burstiness", "0.01"]),
        (vec!["--url", &url, "--rps", "10", "--burstiness", "-1"], vec!["--burstiness"]),
        (vec!["--url", &url, "--rps", "10", "--arrival", "constant", "--burstiness", "2"], vec!["--burstiness", "--arrival poisson"]),
        (vec!["--url", &url, "--expect-json", "data.status"], vec!["--expect-json", "PATH=VALUE"]),
        (vec!["--url", &url, "--expect-json", "a..b=1"], vec!["--expect-json", "empty segment"]),
        (vec!["--url", &url, "--expect-body", ""], vec!["--expect-body", "empty"]),
        (vec!["--url", &url, "--expect-status", "2xx"], vec!["--expect-status", "200-299"]),
        (vec!["--url", &url, "--fail-on", "check-rate<1%"], vec!["--fail-on", "check-failure-rate"]),
        (vec!["--url", &url, "--cookies=yes"], vec!["--cookies"]),
        (vec!["--url", &url, "--jsonl", ""], vec!["--jsonl", "file name"]),
        (vec!["--url", &url, "--fail-on", "failure-rate<101%"], vec!["--fail-on", "failure-rate<101%"]),
        (vec!["--url", &url, "--rps", "100,200", "--step", "0s"], vec!["--step must be above 0"]),
        (vec!["--url", &url, "--expect-json", "items[0].id=7"], vec!["--expect-json", "items.0.id"]),
        (vec!["--url", &url, "--warmup", "1s", "--ramp", "0,2", "--step", "1s"], vec!["--warmup", "0 users"]),
        (vec!["--url", &url, "--fail-on", "check-failure-rate<1%"], vec!["--fail-on", "--expect-status"]),
        (vec!["--url", &url, "--name", ""], vec!["--name", "non-empty"]),
        (vec!["--url", &url, "--rps", "10", "--arrival", "bursty"], vec!["--arrival", "poisson"]),
        // a negative value names its flag (it is not taken for an unknown flag)
        (vec!["--url", &url, "--timeout", "-1"], vec!["--timeout"]),
        (vec!["--url", &url, "--seed", "-1"], vec!["--seed"]),
        (vec!["--url", &url, "--ramp", "1,2", "--step", "-1s"], vec!["--step"]),
        (vec!["--url", &url, "--think-time", "-1s"], vec!["--think-time"]),
        (vec!["--url", &url, "--retries", "-1"], vec!["--retries"]),
        (vec!["--url", &url, "--duration", "-5s"], vec!["--duration", "'-5s'"]),
        (vec!["--url", &url, "--retry-backoff", "-1s"], vec!["--retry-backoff"]),
        (vec!["--url", &url, "--duration", "10x"], vec!["--duration", "not a duration"]),
        (vec!["--url", &url, "--duration", "0"], vec!["--duration", "above 0"]),
        (vec!["--url", &url, "--duration", "2y"], vec!["--duration", "longer than a year"]),
        (vec!["--url", &url, "--duration", "-5"], vec!["--duration"]),
        (vec!["--url", &url, "--requests", "many"], vec!["--requests", "not a count"]),
        (vec!["--url", &url, "--requests", "0"], vec!["--requests"]),
        (vec!["--url", &url, "--requests", "99999999999999999999"], vec!["--requests"]),
        (vec!["--url", &url, "--timeout", "soon"], vec!["--timeout"]),
        (vec!["--url", &url, "--timeout", "0"], vec!["--timeout"]),
        // ramps
        (vec!["--url", &url, "--ramp", "0,x", "--step", "1s"], vec!["--ramp", "not a number of users"]),
        (vec!["--url", &url, "--ramp", "0,,4", "--step", "1s"], vec!["--ramp", "empty stage"]),
        (vec!["--url", &url, "--ramp", "0,0", "--step", "1s"], vec!["--ramp", "never has any users"]),
        (vec!["--url", &url, "--ramp", "10..1:0", "--step", "1s"], vec!["--ramp", "step 0"]),
        (vec!["--url", &url, "--ramp", "5..x:1", "--step", "1s"], vec!["--ramp"]),
        (vec!["--url", &url, "--ramp", "0..1000000:1", "--step", "1s"], vec!["--ramp", "10000"]),
        (vec!["--url", &url, "--ramp", "1,2"], vec!["--step"]),
        (vec!["--url", &url, "--ramp", "1,2", "--step", "0"], vec!["--step"]),
        (vec!["--url", &url, "--ramp", "1,2", "--step", "1s", "-c", "3"], vec!["--users", "--ramp"]),
        (vec!["--url", &url, "--ramp", "1,2", "--step", "1s", "-z", "5"], vec!["--duration", "--ramp"]),
        (vec!["--url", &url, "--ramp-up", "0"], vec!["--ramp-up"]),
        (vec!["--url", &url, "--ramp", "1,2", "--step", "1s", "--ramp-up", "1s"], vec!["--ramp-up"]),
        // the request
        (vec!["--url", &url, "-X", "GE T"], vec!["-X"]),
        // a newline in a value cannot split the message or hide the flag's name
        (vec!["--url", &url, "--requests", "1\n\n2"], vec!["--requests", "not a count"]),
        (vec!["--url", &url, "-H", "Bad\nName: x"], vec!["-H", "Bad\\nName"]),
        (vec!["--url", &url, "-H", "NoColonHere"], vec!["-H", "no colon"]),
        (vec!["--url", &url, "-H", "Bad Name: x"], vec!["-H", "not a valid header name"]),
        (vec!["--url", &url, "-H", "X-Ctl: a\u{1}b"], vec!["-H", "x-ctl", "characters"]),
        (vec!["--url", &url, "-d", &body_missing], vec!["-d", "no-body"]),
        (vec!["--url", &url, "-d", &body_dir], vec!["-d", "cannot read the body file"]),
        (vec!["--url", &url, "--proxy", "not a proxy"], vec!["--proxy"]),
        (vec!["--url", &url, "--start-at", "yesterday"], vec!["--start-at"]),
        (vec!["--url", &url, "--start-at", "2001-01-01T00:00:00Z"], vec!["--start-at", "in the past"]),
        (vec!["--url", &url, "--start-at", "2026-05-01T12:00:00"], vec!["--start-at", "time zone"]),
        // report files
        (vec!["--url", &url, "-n", "1", "--json", no_dir], vec!["--json", "no/such/dir"]),
        (vec!["--url", &url, "-n", "1", "--csv", no_dir], vec!["--csv", "cannot create"]),
        (vec!["--url", &url, "-n", "1", "--html", &dir_path], vec!["--html", "cannot create"]),
        (vec!["--url", &url, "-n", "1", "--hdr-log", ""], vec!["--hdr-log", "needs a file name"]),
        (vec!["--url", &url, "-n", "1", "--csv", "x.csv", "--csv-series", "x.csv"], vec!["--csv", "--csv-series", "x.csv"]),
        (vec!["--url", &url, "-n", "1", "--json", "-", "--html", "-"], vec!["--json", "--html", "stdout"]),
        (vec!["--url", &url, "-n", "1", "--json", &same_a, "--html", &same_b], vec!["--json", "--html", "both write"]),
        // --samples and --samples-rate
        (vec!["--url", &url, "-n", "1", "--samples", &same_a], vec!["--samples", "r.json", ".csv or .jsonl"]),
        (vec!["--url", &url, "-n", "1", "--samples", ""], vec!["--samples", "needs a file name"]),
        (vec!["--url", &url, "-n", "1", "--samples", &samples_no_dir], vec!["--samples", "no/such/dir", "cannot create"]),
        (vec!["--url", &url, "-n", "1", "--samples", &samples_dir], vec!["--samples", "a directory"]),
        (vec!["--url", &url, "-n", "1", "--samples-rate", "0.1"], vec!["--samples-rate", "--samples FILE.csv"]),
        (vec!["--url", &url, "-n", "1", "--samples", &samples, "--samples-rate", "0"], vec!["--samples-rate", "0 < F <= 1"]),
        (vec!["--url", &url, "-n", "1", "--samples", &samples, "--samples-rate", "1.5"], vec!["--samples-rate", "0 < F <= 1"]),
        (vec!["--url", &url, "-n", "1", "--samples", &samples, "--samples-rate", "a tenth"], vec!["--samples-rate", "not a fraction"]),
        (vec!["--url", &url, "-n", "1", "--samples", "-", "--json", "-"], vec!["--json", "--samples", "stdout"]),
        (vec!["--url", &url, "--data", &data_bad, "--samples", &data_bad], vec!["--samples", "which --data reads"]),
        (vec!["find", "--url", &url, "--slo", "p99<1s", "--samples", &samples], vec!["--samples", "does not go with find"]),
        (vec!["find", "--url", &url, "--slo", "p99<1s", "--jsonl", "-"], vec!["--jsonl", "does not go with find"]),
        (vec!["find", "--url", &url, "--slo", "p99<1s", "--abort-on", "error-rate>50%"], vec!["--abort-on", "does not go with find"]),
        (vec!["--url", &url, "-n", "1", "--abort-on", "error-rate>50%", "--abort-window", "-3"], vec!["--abort-window"]),
        (vec!["--url", &url, "-n", "1", "--metrics-addr", "-1"], vec!["--metrics-addr"]),
        (vec!["--url", &url, "-n", "1", "--abort-on", "p99<300ms"], vec!["--abort-on", "while it is healthy", "p99>300ms"]),
        (vec!["--url", &url, "-n", "1", "--abort-on", ""], vec!["--abort-on", "'error-rate>50%,p99>5s'"]),
        (vec!["--url", &url, "-n", "1", "--abort-on", "error-rate=5%"], vec!["--abort-on", "e.g. p99>5s"]),
        (vec!["--url", &url, "-n", "1", "--abort-on", "error-rate>50%,qps>=10"], vec!["--abort-on", "while it is healthy", "qps<=10"]),
        // the live /metrics page: checked and bound before the first request
        (vec!["--url", &url, "-n", "1", "--metrics-addr", &taken], vec!["--metrics-addr", "is in use", "0 for any free port"]),
        (vec!["find", "--url", &url, "--slo", "p99<1s", "--metrics-addr", &taken], vec!["--metrics-addr", "is in use"]),
        (vec!["--url", &url, "-n", "1", "--metrics-addr", "192.0.2.1:9464"], vec!["--metrics-addr", "not an address of this machine"]),
        (vec!["--url", &url, "-n", "1", "--metrics-addr", "nowhere"], vec!["--metrics-addr", "has no port"]),
        (vec!["--url", &url, "-n", "1", "--metrics-addr", "70000"], vec!["--metrics-addr", "0 to 65535"]),
        (vec!["--url", &url, "-n", "1", "--metrics-addr", "http://127.0.0.1:9464"], vec!["--metrics-addr", "HOST:PORT"]),
        (vec!["--url", &url, "-n", "1", "--metrics-linger", "5s"], vec!["--metrics-addr"]),
        (vec!["--url", &url, "-n", "1", "--metrics-addr", "0", "--metrics-linger", "soon"], vec!["--metrics-linger"]),
        // the other files a run reads, and the flags of their features
        (vec!["--targets", &targets_bad, "-n", "1"], vec!["--targets", "targets.txt:2"]),
        (vec!["--targets", &targets_missing, "-n", "1"], vec!["--targets", "no-targets.txt"]),
        (vec!["--url", &url, "--data", &data_bad, "-n", "1"], vec!["--data", "data.csv:2"]),
        (vec!["--url", &url, "--data", &data_missing, "-n", "1"], vec!["--data", "no-data.csv"]),
        // a report never overwrites a file the run reads
        (vec!["--url", &url, "--data", &data_bad, "--csv", &data_bad], vec!["--csv", "which --data reads"]),
        (vec!["--url", &chat, "--openai", "m", "--prompts", &empty, "-n", "1"], vec!["--prompts", "empty.txt"]),
        (vec!["--url", &chat, "--openai", "m", "--api-key-file", &empty, "-n", "1"], vec!["--api-key-file", "empty.txt"]),
        // token counting, goodput and the vLLM-style result file
        (vec!["--url", &chat, "--openai", "m", "--tokenizer", &tokenizer_missing, "-n", "1"], vec!["--tokenizer", "no-tokenizer.json", "cannot read"]),
        (vec!["--url", &chat, "--openai", "m", "--tokenizer", &empty, "-n", "1"], vec!["--tokenizer", "empty.txt", "tokenizer.json"]),
        (vec!["--url", &chat, "--openai", "m", "--goodput", "itl<5ms", "-n", "1"], vec!["--goodput", "unknown metric 'itl'"]),
        (vec!["--url", &chat, "--openai", "m", "--goodput", "ttft>5ms", "-n", "1"], vec!["--goodput", "upper limit"]),
        (vec!["--url", &chat, "--openai", "m", "--goodput", "ttft<soon", "-n", "1"], vec!["--goodput", "not a duration"]),
        (vec!["--url", &chat, "--openai", "m", "--fail-on", "goodput>5", "-n", "1"], vec!["goodput>5", "needs --goodput"]),
        (vec!["--url", &chat, "--openai", "m", "--abort-on", "goodput-ratio<50%"], vec!["goodput-ratio<50%", "needs --goodput"]),
        (vec!["--url", &url, "-n", "1", "--result-json", ""], vec!["--result-json", "file name"]),
        (vec!["find", "--url", &url, "--slo", "p99<1s", "--result-json", "r.json"], vec!["--result-json", "does not go with find"]),
        // --dataset and the workload flags (issue 16)
        (vec!["--url", &chat, "--openai", "m", "--input-len", "10", "-n", "1"], vec!["--input-len", "--dataset random"]),
        (vec!["--url", &chat, "--openai", "m", "--dataset", "random", "-n", "1"], vec!["--dataset random", "--input-len N"]),
        (vec!["--url", &chat, "--openai", "m", "--dataset", "random", "--input-len", "10", "--range-ratio", "1"], vec!["--range-ratio", "0 <= R < 1"]),
        (vec!["--url", &chat, "--openai", "m", "--dataset", "random", "--input-len", "10", "--range-ratio", "-0.5"], vec!["--range-ratio", "0 <= R < 1"]),
        (vec!["--url", &chat, "--openai", "m", "--dataset", "random", "--input-len", "10", "--range-ratio", "abc"], vec!["--range-ratio"]),
        (vec!["--url", &chat, "--openai", "m", "--dataset", "random", "--input-len", "10", "--num-prompts", "0"], vec!["--num-prompts", "at least 1"]),
        (vec!["--url", &chat, "--openai", "m", "--dataset", "random", "--input-len", "10", "--max-tokens", "5"], vec!["--max-tokens", "--output-len"]),
        (vec!["--url", &chat, "--openai", "m", "--dataset", "csv", &jsonl_good], vec!["--dataset", "'csv'", "random, sharegpt FILE.json or jsonl FILE"]),
        (vec!["--url", &chat, "--openai", "m", "--dataset", "random", &jsonl_good, "--input-len", "10"], vec!["--dataset random", "reads no file"]),
        (vec!["--url", &chat, "--openai", "m", "--dataset", "sharegpt", "-n", "1"], vec!["--dataset sharegpt", "needs a file"]),
        (vec!["--url", &chat, "--openai", "m", "--dataset", "sharegpt", &sg_missing], vec!["--dataset sharegpt", "no-sg.json", "cannot read"]),
        (vec!["--url", &chat, "--openai", "m", "--dataset", "sharegpt", &dir_path], vec!["--dataset sharegpt", "directory"]),
        (vec!["--url", &chat, "--openai", "m", "--dataset", "sharegpt", &not_json], vec!["--dataset sharegpt", "not.json", "line 1"]),
        (vec!["--url", &chat, "--openai", "m", "--dataset", "sharegpt", &sg_none], vec!["--dataset sharegpt", "sg-none.json", "no conversation", "1 skipped"]),
        (vec!["--url", &chat, "--openai", "m", "--dataset", "jsonl", &jsonl_missing], vec!["--dataset jsonl", "no-p.jsonl", "cannot read"]),
        (vec!["--url", &chat, "--openai", "m", "--dataset", "jsonl", &jsonl_bad], vec!["--dataset jsonl", "p.jsonl", "line 2", "not JSON"]),
        (vec!["--url", &chat, "--openai", "m", "--dataset", "jsonl", &jsonl_bin], vec!["--dataset jsonl", "bin.jsonl", "line 1", "not UTF-8"]),
        (vec!["--url", &chat, "--openai", "m", "--dataset", "jsonl", &jsonl_good, "--prompt", "hi"], vec!["--dataset", "--prompt"]),
        (vec!["--url", &chat, "--openai", "m", "--dataset", "jsonl", &jsonl_good, "--prompts", &jsonl_good], vec!["--dataset", "--prompts"]),
        (vec!["--url", &chat, "--dataset", "jsonl", &jsonl_good], vec!["--dataset", "--openai MODEL"]),
        (vec!["--url", &chat, "--openai", "m", "--dataset", "jsonl", &jsonl_good, "--json", &jsonl_good], vec!["--json", "--dataset"]),
        (vec!["--url", &chat, "--dify", "--ignore-eos"], vec!["--ignore-eos", "--openai"]),
        (vec!["--url", &chat, "--openai", "m", "--ignore-eos", "-n", "1"], vec!["--ignore-eos", "--max-tokens N"]),
        (vec!["--url", &chat, "--dify", "--system-prompt", "be brief"], vec!["--system-prompt", "Dify"]),
        (vec!["--url", &chat, "--dify", "--dataset", "jsonl", &jsonl_good, "--output-len", "5"], vec!["--output-len", "Dify"]),
        (vec!["--url", &url, "--fail-on", "p99<<3", "-n", "1"], vec!["--fail-on"]),
        (vec!["--url", &url, "--fail-on", "bogus>1", "-n", "1"], vec!["--fail-on", "bogus"]),
        (vec!["--url", &url, "--abort-on", "bogus>1"], vec!["--abort-on", "bogus"]),
        (vec!["--url", &url, "--abort-on", "p99"], vec!["--abort-on", "p99>5s"]),
        (vec!["--url", &url, "--abort-on", "stage=1:p99>1s"], vec!["--abort-on", "stage=N:"]),
        (vec!["--url", &url, "--abort-window", "5s"], vec!["--abort-window", "--abort-on"]),
        (vec!["--url", &url, "--abort-on", "p99>1s", "--abort-window", "1.5s"], vec!["--abort-window", "whole seconds"]),
        (vec!["--url", &url, "--abort-on", "p99>1s", "--abort-window", "0s"], vec!["--abort-window", "at least 1"]),
        (vec!["--url", &url, "--think-time", "5x", "-n", "1"], vec!["--think-time"]),
        (vec!["--url", &url, "--ok-status", "abc", "-n", "1"], vec!["--ok-status"]),
        // subcommands and their files
        (vec!["--url", &url, "--bogus-flag"], vec!["--bogus-flag"]),
        (vec!["frobnicate"], vec!["frobnicate"]),
        (vec!["serve", "--addr", "nowhere"], vec!["--addr"]),
        (vec!["serve", "--error-rate", "2"], vec!["--error-rate", "between 0 and 1"]),
        (vec!["serve", "--delay", "forever"], vec!["--delay"]),
        (vec!["serve", "--threads", "0"], vec!["--threads"]),
        (vec!["serve", "--tokens", "100001"], vec!["--tokens", "100000"]),
        (vec!["serve", "--tokens", "-1"], vec!["--tokens"]),
        (vec!["serve", "--tokens-per-event", "0"], vec!["--tokens-per-event", "1..="]),
        (vec!["serve", "--tokens-per-event", "-2"], vec!["--tokens-per-event"]),
        (vec!["serve", "--reasoning-tokens", "100001"], vec!["--reasoning-tokens", "100000"]),
        (vec!["demo", "--step", "0"], vec!["--step"]),
        (vec!["find", "--url", &url], vec!["--slo"]),
        (vec!["find", "--url", &url, "--slo", "p99<1s", "--by", "qps"], vec!["--by", "rate"]),
        (vec!["find", "--url", &url, "--slo", "p99<1s", "--from", "0"], vec!["--from"]),
        (vec!["find", "--url", &url, "--slo", "p99<1s", "--max-time", "soon"], vec!["--max-time"]),
        (vec!["find", "--url", &url, "--slo", "p99<1s", "--by", "users", "--users", "5"], vec!["--users", "--from"]),
        (vec!["find", "--url", &url, "--slo", "p99<1s", "--by", "users", "--arrival", "poisson"], vec!["--arrival does not go with find", "--by rate"]),
        (vec!["find", "--url", &url, "--slo", "p99<1s", "--by", "users", "--burstiness", "0.5"], vec!["--burstiness does not go with find", "--by rate"]),
        (vec!["--url", &url, "--burstiness", "0.5"], vec!["--burstiness", "add --rps"]),
        (vec!["find", "--url", &url, "--slo", "p99<1s", "-z", "5s"], vec!["--duration", "--step"]),
        (vec!["merge"], vec!["REPORT.json"]),
        (vec!["merge", &missing], vec!["missing.json", "cannot read"]),
        (vec!["report", &not_json], vec!["not.json", "line 1"]),
        (vec!["report", &cut], vec!["cut.json", "line"]),
        (vec!["report", &foreign], vec!["foreign.json", "not a qpsbench report"]),
        (vec!["report", &future], vec!["future.json", "format 99"]),
        (vec!["report", &damaged], vec!["damaged.json", "total"]),
        (vec!["report", &missing_field], vec!["incomplete.json", "total"]),
        (vec!["merge", &good, &elsewhere], vec!["good.json", "elsewhere.json", "one target"]),
        (vec!["report", &good, "--json", ""], vec!["--json"]),
        // compare, and --fail-on changes from a --baseline (issue 17)
        (vec!["compare", &good], vec!["compare needs two reports", "good.json"]),
        (vec!["compare", &good, &missing], vec!["missing.json", "cannot read"]),
        (vec!["compare", &good, &foreign], vec!["foreign.json", "not a qpsbench report"]),
        (vec!["compare", &not_json, &good], vec!["not.json", "not JSON"]),
        (vec!["compare", &good, &good, "--json", &good], vec!["--json", "good.json", "which compare reads"]),
        (vec!["compare", &good, &good, "--csv", "-", "--html", "-"], vec!["--csv", "--html", "stdout"]),
        (vec!["compare", &good, &good, "--fail-on", "p99<+1pp"], vec!["--fail-on 'p99<+1pp'", "a change of p99 is in %"]),
        (vec!["compare", &good, &good, "--fail-on", "stage=2:p99<+10%"], vec!["--fail-on", "the baseline", "good.json has 1 stage, no stage 2"]),
        (vec!["compare", &failed, &good, "--fail-on", "ttfb-p99<+10%"], vec!["the baseline", "failed.json", "has no ttfb-p99"]),
        (vec!["--url", &url, "-n", "1", "--fail-on", "p99<+10%"], vec!["--fail-on 'p99<+10%'", "add --baseline"]),
        (vec!["--url", &url, "-n", "1", "--fail-on", "qps>-5"], vec!["--fail-on 'qps>-5'", "qps>-5%"]),
        (vec!["--url", &url, "-n", "1", "--baseline", &missing, "--fail-on", "p99<+10%"], vec!["--baseline", "missing.json", "cannot read"]),
        (vec!["--url", &url, "-n", "1", "--baseline", &not_json, "--fail-on", "p99<+10%"], vec!["--baseline", "not.json", "not JSON"]),
        (vec!["--url", &url, "-n", "1", "--baseline", &future, "--fail-on", "p99<+10%"], vec!["--baseline", "future.json", "format 99"]),
        (vec!["--url", &url, "-n", "1", "--baseline", &good], vec!["--baseline", "add e.g. --fail-on"]),
        (vec!["--url", &url, "-n", "1", "--baseline", &good, "--fail-on", "p99<+10%", "--json", &good], vec!["--json", "which --baseline reads"]),
        (vec!["--url", &url, "-n", "1", "--baseline", &failed, "--fail-on", "ttfb-p99<+10%"], vec!["--baseline", "failed.json", "has no ttfb-p99"]),
        (vec!["--url", &url, "--ramp", "1,2", "--step", "1s", "--baseline", &good, "--fail-on", "stage=2:p99<+10%"], vec!["--baseline", "good.json", "has 1 stage, no stage 2"]),
        (vec!["--url", &url, "-n", "1", "--abort-on", "p99>+50%"], vec!["--abort-on 'p99>+50%'", "absolute limit"]),
        (vec!["find", "--url", &url, "--slo", "p99<+10%"], vec!["--slo 'p99<+10%'", "absolute limits"]),
        (vec!["find", "--url", &url, "--slo", "p99<1s", "--baseline", &good], vec!["--baseline", "does not go with find"]),
        (vec!["report", &good, "--fail-on", "error-rate<+0.5pp"], vec!["--fail-on 'error-rate<+0.5pp'", "add --baseline"]),
        (vec!["report", &good, "--baseline", &missing, "--fail-on", "p99<+10%"], vec!["--baseline", "missing.json", "cannot read"]),
        (vec!["report", &good, "--baseline", &good], vec!["--baseline", "--fail-on"]),
        // a goodput change across different --goodput objectives (issue 17)
        (vec!["--url", &url, "-n", "1", "--goodput", "e2el<1s", "--baseline", &g2, "--fail-on", "goodput>-5%"], vec!["--fail-on 'goodput>-5%'", "--baseline", "g2.json", "has --goodput 'e2el<2s'", "this run has --goodput 'e2el<1s'"]),
        (vec!["report", &g1, "--baseline", &g2, "--fail-on", "p99<1s,goodput-ratio>-1pp"], vec!["goodput-ratio>-1pp", "g2.json has --goodput 'e2el<2s'", "g1.json has --goodput 'e2el<1s'"]),
        (vec!["compare", &g2, &g1, "--fail-on", "goodput>-5%"], vec!["goodput>-5%", "the baseline", "g2.json has --goodput 'e2el<2s'", "g1.json has --goodput 'e2el<1s'"]),
        (vec!["compare", &g1, &good, "--fail-on", "goodput>-5%"], vec!["goodput>-5%", "g1.json has --goodput 'e2el<1s'", "good.json has no --goodput"]),
        // other qpsbench files are named for what they are; stage thresholds name the file
        (vec!["compare", &good, &found], vec!["found.json: a qpsbench find result, not a run report", "--json of qpsbench run"]),
        (vec!["compare", &compared, &good], vec!["compared.json: a qpsbench comparison, not a run report"]),
        (vec!["report", &found], vec!["found.json: a qpsbench find result"]),
        (vec!["merge", &good, &compared], vec!["compared.json: a qpsbench comparison"]),
        (vec!["--url", &url, "-n", "1", "--baseline", &found, "--fail-on", "p99<+10%"], vec!["--baseline", "found.json: a qpsbench find result"]),
        (vec!["compare", &good, &ramp, "--fail-on", "stage=3:p99<+10%"], vec!["--fail-on 'stage=3:p99<+10%'", "the baseline", "good.json has 1 stage, no stage 3"]),
        (vec!["compare", &ramp, &good, "--fail-on", "stage=2:p99<1s"], vec!["--fail-on 'stage=2:p99<1s'", "good.json has 1 stage, no stage 2"]),
        (vec!["compare", &ramp, &good, "--fail-on", "stage=0:p99<1s"], vec!["--fail-on 'stage=0:p99<1s'", "numbered from 1"]),
        // report and merge write no report over a file they read (issue 17)
        (vec!["report", &good, "--baseline", &elsewhere, "--fail-on", "p99<+10%", "--json", &elsewhere], vec!["--json would overwrite", "elsewhere.json", "which --baseline reads"]),
        (vec!["report", &good, "--baseline", &elsewhere, "--fail-on", "p99<+10%", "--html", &elsewhere_dot], vec!["--html would overwrite", "which --baseline reads"]),
        (vec!["report", &good, "--baseline", &elsewhere_link, "--fail-on", "p99<+10%", "--csv", &elsewhere], vec!["--csv would overwrite", "which --baseline reads"]),
        (vec!["report", &good, "--baseline", &elsewhere, "--fail-on", "p99<+10%", "--json", &elsewhere_link], vec!["--json would overwrite", "which --baseline reads"]),
        (vec!["report", &elsewhere, "--json", &elsewhere_dot], vec!["--json would overwrite", "which report reads"]),
        (vec!["merge", &good, &elsewhere, "--html", &elsewhere_link], vec!["--html would overwrite", "which merge reads"]),
    ];
    // The README's Reliability table states how many there are: it must say this number.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let stated: usize = readme
        .split("tests/bad_input.rs` (")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the README states the number of bad-input cases: `tests/bad_input.rs` (N ...");
    assert_eq!(
        cases.len(),
        stated,
        "README.md says tests/bad_input.rs has {stated} cases; it has {}",
        cases.len()
    );
    let mut failed = Vec::new();
    for (args, wants) in &cases {
        let (code, out, err) = qps(args);
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        let mut problems = Vec::new();
        if code != 2 {
            problems.push(format!("exit {code}"));
        }
        if lines.len() != 1 || !lines[0].starts_with("error: ") {
            problems.push("not one 'error:' line".to_string());
        }
        for w in wants {
            if !err.contains(w) {
                problems.push(format!("does not mention '{w}'"));
            }
        }
        if err.contains("panicked") || err.contains("backtrace") || err.contains("RUST_BACKTRACE") {
            problems.push("panic or backtrace".into());
        }
        if !out.is_empty() {
            problems.push(format!("stdout: {out:.200}"));
        }
        if !problems.is_empty() {
            failed.push(format!(
                "{args:?}: {}\n    stderr: {err}",
                problems.join(", ")
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} cases failed:\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n")
    );
    assert_eq!(
        srv.stats.snapshot().requests,
        0,
        "a bad invocation sent traffic"
    );
    // The files the refused commands would have overwritten are as this test wrote them.
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), elsewhere_text);
    assert_eq!(std::fs::read_to_string(&good).unwrap(), good_text);
}
