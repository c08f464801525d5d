//! The container image and the Kubernetes Job (issue 17): every manifest under deploy/k8s/ is
//! valid against the Kubernetes API schema of a pinned version, offline (`kubernetes-validate
//! --strict`, which bundles the schemas; scripts/install-test-deps.sh installs it, pinned, in
//! target/py-venv), a misspelled field is refused, and the Job agrees with the Dockerfile (the
//! user, the ENTRYPOINT), the README (the image) and qpsbench's own parser (the arguments).
//! The manifests are read by PyYAML from that environment, a parser of its own.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use qpsbench::Config;
use qpsbench::cli::{Cli, Command as Sub};
use serde_json::Value;

/// The Kubernetes version the manifests are checked against.
const KUBERNETES: &str = "1.33.0";
/// The validator's version, as scripts/install-test-deps.sh pins it.
const VALIDATOR: &str = "1.37.0";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The virtual environment's `bin/NAME`, or `None` (the test is skipped, or fails under CI).
fn venv_tool(name: &str) -> Option<PathBuf> {
    let path = root().join("target/py-venv/bin").join(name);
    if path.is_file() {
        return Some(path);
    }
    let why = format!(
        "{} is missing: run scripts/install-test-deps.sh",
        path.display()
    );
    assert!(common::skip_outside_ci(&why));
    None
}

/// Every manifest file under deploy/k8s/.
fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("deploy/k8s"))
        .expect("deploy/k8s/")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "the Job and its volume claim: {files:?}");
    files
}

/// `kubernetes-validate --strict` on `file`: its verdict and what it said.
fn validate(tool: &Path, file: &Path) -> (bool, String) {
    let out = Command::new(tool)
        .args(["--strict", "--kubernetes-version", KUBERNETES])
        .arg(file)
        .output()
        .expect("kubernetes-validate runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

#[test]
fn every_manifest_is_valid_kubernetes_and_a_misspelled_field_is_not() {
    let Some(tool) = venv_tool("kubernetes-validate") else {
        return;
    };
    let version = Command::new(&tool).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        VALIDATOR,
        "the pinned validator (scripts/install-test-deps.sh)"
    );
    for file in manifests() {
        let (ok, said) = validate(&tool, &file);
        assert!(ok, "{}: {said}", file.display());
        assert!(said.contains("passed"), "{}: {said}", file.display());
    }
    // The witness that the check checks: a field misspelled, then one of the wrong type, in
    // copies of the Job.
    let job = std::fs::read_to_string(root().join("deploy/k8s/job.yaml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (what, from, to, error) in [
        (
            "a misspelled field",
            "backoffLimit: 0",
            "backofLimit: 0",
            "'backofLimit' was unexpected",
        ),
        (
            "a list where an object goes",
            "readOnlyRootFilesystem: true",
            "readOnlyRootFilesystem: [true]",
            "is not of type 'boolean'",
        ),
    ] {
        assert!(job.contains(from), "{from}");
        let broken = dir.path().join("broken.yaml");
        std::fs::write(&broken, job.replacen(from, to, 1)).unwrap();
        let (ok, said) = validate(&tool, &broken);
        assert!(!ok, "{what} passed: {said}");
        assert!(said.contains(error), "{what}: {said}");
    }
}

/// The documents of a YAML file as JSON, read by PyYAML.
fn yaml(python: &Path, file: &Path) -> Vec<Value> {
    let out = Command::new(python)
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
        ])
        .arg(file)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `$(NAME)` in `arg` replaced by `vars`' values, as Kubernetes expands a container's args.
fn expand(arg: &str, vars: &[(String, String)]) -> String {
    let mut out = arg.to_string();
    for (name, value) in vars {
        out = out.replace(&format!("$({name})"), value);
    }
    assert!(!out.contains("$("), "an unknown variable in {arg}");
    out
}

#[test]
fn the_job_agrees_with_the_dockerfile_the_readme_and_the_parser() {
    let Some(python) = venv_tool("python") else {
        return;
    };
    let docs = yaml(&python, &root().join("deploy/k8s/job.yaml"));
    let job = &docs[0];
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    assert_eq!(job["spec"]["completions"], job["spec"]["parallelism"]);
    let pod = &job["spec"]["template"]["spec"];
    let c = &pod["containers"][0];

    // The image: this version of qpsbench, as the README says to tag it.
    let version = env!("CARGO_PKG_VERSION");
    let image = c["image"].as_str().unwrap();
    assert!(
        image.ends_with(&format!("/qpsbench:{version}")),
        "{image} is not qpsbench:{version}"
    );
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(readme.contains(&format!("qpsbench:{version}")), "README");
    assert!(
        readme.contains(image),
        "README names the Job's image {image}"
    );

    // The Dockerfile's user and entrypoint: the Job runs as that user, and gives only args.
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let line = |key: &str| {
        dockerfile
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("Dockerfile has no {key}"))
            .to_string()
    };
    assert_eq!(
        line("ENTRYPOINT "),
        r#"ENTRYPOINT ["/usr/local/bin/qpsbench"]"#
    );
    assert!(c.get("command").is_none(), "the image's ENTRYPOINT applies");
    let user = line("USER ");
    let uid: u64 = user[5..].split(':').next().unwrap().parse().unwrap();
    assert_ne!(uid, 0, "{user}");
    let security = &pod["securityContext"];
    assert_eq!(security["runAsUser"], uid, "{security}");
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert!(c["resources"]["limits"]["cpu"].is_string());

    // The arguments, expanded as Kubernetes does, are a command line qpsbench accepts, whose
    // report goes to the volume mounted for it.
    let mut vars: Vec<(String, String)> = Vec::new();
    for e in c["env"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap().to_string();
        let value = match e["value"].as_str() {
            // --start-at must be ahead: as docs/distributed.md sets it when applying.
            Some(_) if name == "START_AT" => humantime::format_rfc3339_seconds(
                std::time::SystemTime::now() + std::time::Duration::from_secs(600),
            )
            .to_string(),
            Some(v) => v.to_string(),
            None => {
                assert!(
                    e["valueFrom"]["fieldRef"]["fieldPath"]
                        .as_str()
                        .unwrap()
                        .contains("job-completion-index"),
                    "{e}"
                );
                "0".to_string()
            }
        };
        vars.push((name, value));
    }
    let args: Vec<String> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| expand(a.as_str().expect("args are strings"), &vars))
        .collect();
    let argv = std::iter::once("qpsbench".to_string()).chain(args.clone());
    let cli = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    let Sub::Run(run) = cli.command else {
        panic!("the Job runs `qpsbench run`: {args:?}")
    };
    let cfg = Config::try_from(run).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert_eq!(cfg.schedule.target_rate(), Some(1500.0));
    let json = args
        .iter()
        .skip_while(|a| *a != "--json")
        .nth(1)
        .expect("--json");
    let mount = c["volumeMounts"][0]["mountPath"].as_str().unwrap();
    assert_eq!(json, &format!("{mount}/run-0.json"));
    let claim = &pod["volumes"][0]["persistentVolumeClaim"]["claimName"];
    let pvc = yaml(&python, &root().join("deploy/k8s/pvc.yaml"));
    assert_eq!(&pvc[0]["metadata"]["name"], claim);

    // docs/distributed.md points to these files rather than a copy of them.
    let distributed = std::fs::read_to_string(root().join("docs/distributed.md")).unwrap();
    assert!(distributed.contains("deploy/k8s/job.yaml"));
    assert!(distributed.contains("deploy/k8s/pvc.yaml"));
    assert!(
        !distributed.contains("kind: Job"),
        "an inline copy of the Job would drift from deploy/k8s/job.yaml"
    );
}
