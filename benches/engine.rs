//! Hot-path costs of the engine, without any network: taking a rate-limiter slot, the
//! collector's per-sample work (and the live /metrics sink's), and histogram merging (what
//! `merge` and per-stage totals do), and a streamed answer through the user thread's meter.
//! Run: cargo bench --bench engine

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use qpsbench::engine::limiter::{Arrival, Limiter, RateStage};
use qpsbench::sample::{Outcome, Sample};
use qpsbench::stats::bucket::Bucket;
use qpsbench::stats::hdr::new_histogram;

fn limiter(c: &mut Criterion) {
    let one = |rate| RateStage {
        start: Duration::ZERO,
        len: None,
        rate,
    };
    let mut g = c.benchmark_group("limiter");
    g.throughput(Throughput::Elements(1));
    let lim = Limiter::new(&[one(1e6)], Arrival::Constant);
    lim.start(Instant::now());
    g.bench_function("acquire", |b| b.iter(|| black_box(lim.acquire())));
    // Five rate stages: the slot's stage is found by a binary search.
    let stages: Vec<RateStage> = (0..5u32)
        .map(|i| RateStage {
            start: Duration::from_secs(u64::from(i) * 1000),
            len: (i < 4).then_some(Duration::from_secs(1000)),
            rate: 1e6,
        })
        .collect();
    let lim = Limiter::new(&stages, Arrival::Constant);
    lim.start(Instant::now());
    g.bench_function("acquire, 5 rate stages", |b| {
        b.iter(|| black_box(lim.acquire()))
    });
    let lim = Limiter::new(
        &[one(1e6)],
        Arrival::Gamma {
            shape: 1.0,
            seed: 1,
        },
    );
    lim.start(Instant::now());
    g.bench_function("acquire, poisson", |b| b.iter(|| black_box(lim.acquire())));
    g.finish();
}

fn collector_record(c: &mut Criterion) {
    let t0 = Instant::now();
    let samples: Vec<Sample> = (0..1024u64)
        .map(|i| Sample {
            stage: 0,
            scheduled: Some(t0),
            sent: t0 + Duration::from_micros(i % 7),
            first_byte: Some(t0 + Duration::from_micros(100 + i)),
            end: t0 + Duration::from_micros(150 + i * 13),
            outcome: if i % 50 == 0 {
                Outcome::Status(500)
            } else {
                Outcome::Status(200)
            },
            bytes: 12,
            stream: None,
            tag: Default::default(),
        })
        .collect();
    let mut g = c.benchmark_group("collector");
    g.throughput(Throughput::Elements(samples.len() as u64));
    // The collector records each sample into the second, stage and total buckets.
    let (mut sec, mut stage, mut total) =
        (Bucket::new(false), Bucket::new(true), Bucket::new(true));
    g.bench_function("record 1024 samples x 3 buckets", |b| {
        b.iter(|| {
            for s in &samples {
                sec.record(s);
                stage.record(s);
                total.record(s);
            }
        })
    });
    // The live /metrics sink on the same samples (--metrics-addr): what it adds to the above.
    let argv: Vec<String> = [
        "qpsbench",
        "run",
        "--url",
        "http://127.0.0.1:1/",
        "--rps",
        "100",
    ]
    .map(String::from)
    .to_vec();
    let cfg = qpsbench::Config::try_from(qpsbench::cli::parse_run_args(&argv).unwrap()).unwrap();
    let metrics = qpsbench::export::metrics::Metrics::new(&cfg);
    let mut sinks = metrics.begin_run(&cfg.schedule, &Default::default());
    g.bench_function("metrics sink, 1024 samples", |b| {
        b.iter(|| {
            for s in &samples {
                (sinks.on_sample)(s);
            }
        })
    });
    g.finish();
}

/// `--samples`: what the collector thread spends per recorded sample to encode its line and
/// write it out, 64 KiB at a time, to /dev/null (through a link named `.csv` or `.jsonl`): the
/// CPU, not the disk (gigabytes written to a real file measure its writeback instead).
fn samples_lines(c: &mut Criterion) {
    use clap::Parser;
    use qpsbench::cli::{Cli, Command};
    use qpsbench::export::samples::SampleFile;
    let t0 = Instant::now();
    let samples: Vec<Sample> = (0..1024u64)
        .map(|i| Sample {
            stage: 0,
            scheduled: None,
            sent: t0 + Duration::from_micros(i * 11),
            first_byte: Some(t0 + Duration::from_micros(i * 11 + 90 + i % 17)),
            end: t0 + Duration::from_micros(i * 11 + 120 + i % 31),
            outcome: if i % 50 == 0 {
                Outcome::Status(500)
            } else {
                Outcome::Status(200)
            },
            bytes: 12,
            stream: None,
            tag: qpsbench::sample::Tag {
                user: (i % 50) as u32,
                ..Default::default()
            },
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("samples");
    g.throughput(Throughput::Elements(samples.len() as u64));
    for ext in ["csv", "jsonl"] {
        let path = dir.path().join(format!("s.{ext}"));
        std::os::unix::fs::symlink("/dev/null", &path).unwrap();
        let argv = [
            "qpsbench",
            "run",
            "--url",
            "http://127.0.0.1:18089/",
            "--samples",
            path.to_str().unwrap(),
        ];
        let Command::Run(args) = Cli::parse_from(argv).command else {
            unreachable!()
        };
        let cfg = qpsbench::Config::try_from(args).unwrap();
        let file = SampleFile::open(&cfg).unwrap().unwrap();
        let mut record = file.recorder();
        g.bench_function(format!("write 1024 lines, {ext}"), |b| {
            b.iter(|| {
                for s in &samples {
                    record(s);
                }
            })
        });
        file.finish().unwrap();
    }
    g.finish();
}

fn histogram_merge(c: &mut Criterion) {
    let mut a = new_histogram();
    let mut b = new_histogram();
    for i in 1..100_000u64 {
        a.record(i * 3 % 2_000_000 + 1).unwrap();
        b.record(i * 7 % 5_000_000 + 1).unwrap();
    }
    c.bench_function("histogram add (1h range, 3 digits)", |bench| {
        bench.iter(|| {
            let mut m = a.clone();
            m.add(&b).unwrap();
            black_box(m.len())
        })
    });
}

/// One streamed answer through the user thread's meter: a role chunk, 64 content chunks of
/// one word each, the usage chunk and `[DONE]`, fed in 8 reads; the client's token count of
/// the text (the estimate always, the tokenizer only without usage).
fn stream_meter(c: &mut Criterion) {
    use qpsbench::stream::{ContentFormat, StreamClose, StreamMeter, Tokenizer};
    let mut body = String::from(
        "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
    );
    for i in 0..64 {
        body.push_str(&format!(
            "data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" word{i}\"}},\"finish_reason\":null}}]}}\n\n"
        ));
    }
    let without_usage = body.clone() + "data: [DONE]\n\n";
    body.push_str("data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":64}}\n\ndata: [DONE]\n\n");
    let tokenizer = Tokenizer::from_file(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/tokenizer-chars.json"
    )))
    .map(std::sync::Arc::new)
    .ok();
    let mut g = c.benchmark_group("stream meter");
    g.throughput(Throughput::Elements(64));
    for (name, text, tok) in [
        ("answer of 64 chunks, usage", &body, None),
        (
            "answer of 64 chunks, no usage: estimate",
            &without_usage,
            None,
        ),
        (
            "answer of 64 chunks, no usage: tokenizer",
            &without_usage,
            tokenizer.clone(),
        ),
    ] {
        let bytes = text.as_bytes();
        let mut meter = StreamMeter::new(ContentFormat::OpenAi).with_tokenizer(tok);
        g.bench_function(name, |b| {
            b.iter(|| {
                let t0 = Instant::now();
                meter.start(t0);
                for piece in bytes.chunks(bytes.len() / 8 + 1) {
                    let _ = meter.feed(t0, piece, &mut |_| {});
                }
                black_box(meter.finish(t0, StreamClose::Eof, &mut |_| {}).tokens())
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    limiter,
    collector_record,
    samples_lines,
    histogram_merge,
    stream_meter
);
criterion_main!(benches);
