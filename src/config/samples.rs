//! `--samples FILE` and `--samples-rate F` into a checked [`SamplesSpec`]: the format from the
//! file's extension (`.csv`, `.jsonl`; `-` is JSON lines on stdout), the fraction kept, and a
//! place no other output writes and no input is read from.

use std::path::Path;

use crate::config::output::{Dest, OutputSpec, same_place};
use crate::error::{UsageError, bad};

/// How the per-request lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamplesFormat {
    /// A header line, then one RFC 4180 record per request.
    Csv,
    /// One JSON object per request and line.
    Jsonl,
}

/// `--samples` and `--samples-rate`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplesSpec {
    pub dest: Dest,
    pub format: SamplesFormat,
    /// The fraction of requests written: above 0, at most 1.
    pub rate: f64,
}

impl SamplesSpec {
    /// The file as the user wrote it, for messages.
    pub fn shown(&self) -> String {
        match &self.dest {
            Dest::Stdout => "-".to_string(),
            Dest::File(p) => p.display().to_string(),
        }
    }
}

/// Check `--samples FILE` and `--samples-rate F` (the rate's range is checked as it is parsed).
///
/// # Errors
///
/// When `--samples-rate` comes without `--samples`, the file name is empty, or its extension
/// is neither `.csv` nor `.jsonl`.
pub fn from_args(file: Option<&str>, rate: Option<f64>) -> Result<Option<SamplesSpec>, UsageError> {
    let Some(file) = file else {
        if rate.is_some() {
            return bad(
                "--samples-rate keeps a fraction of the lines --samples writes: add --samples \
                 FILE.csv (or FILE.jsonl)",
            );
        }
        return Ok(None);
    };
    let (dest, format) = match file {
        "" => return bad("--samples needs a file name: FILE.csv, FILE.jsonl, or '-' for stdout"),
        // As for the reports, stdout by any of its names; a stream gets JSON lines.
        "-" | "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1" => {
            (Dest::Stdout, SamplesFormat::Jsonl)
        }
        path => {
            let ext = Path::new(path)
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            let format = match ext.as_deref() {
                Some("csv") => SamplesFormat::Csv,
                Some("jsonl") => SamplesFormat::Jsonl,
                _ => {
                    return bad(format!(
                        "--samples {path}: the format comes from the extension: name the file \
                         .csv or .jsonl (or give '-' for JSON lines on stdout)"
                    ));
                }
            };
            (Dest::File(path.into()), format)
        }
    };
    Ok(Some(SamplesSpec {
        dest,
        format,
        rate: rate.unwrap_or(1.0),
    }))
}

/// The samples may not go where a report goes, nor overwrite a file the run reads (`inputs`
/// are (flag, path) of those).
///
/// # Errors
///
/// When another output writes to the same file or also to stdout, or the file is an input.
pub fn check_place(
    spec: &SamplesSpec,
    outputs: &[OutputSpec],
    inputs: &[(&str, &Path)],
) -> Result<(), UsageError> {
    if let Some(o) = outputs.iter().find(|o| same_place(&o.dest, &spec.dest)) {
        let what = match &spec.dest {
            Dest::Stdout => "stdout ('-')".to_string(),
            Dest::File(p) => format!("the file {}", p.display()),
        };
        return bad(format!(
            "{} and --samples both write to {what}: give each its own",
            o.format.flag()
        ));
    }
    for (flag, path) in inputs {
        if same_place(&spec.dest, &Dest::File(path.to_path_buf())) {
            return bad(format!(
                "--samples would overwrite {}, which {flag} reads: write the samples elsewhere",
                path.display()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::output::Format;

    #[test]
    fn the_format_comes_from_the_extension() {
        let f = |file: &str| from_args(Some(file), None).map(|s| s.map(|s| s.format));
        assert_eq!(f("run.csv"), Ok(Some(SamplesFormat::Csv)));
        assert_eq!(f("dir/RUN.CSV"), Ok(Some(SamplesFormat::Csv)));
        assert_eq!(f("run.jsonl"), Ok(Some(SamplesFormat::Jsonl)));
        assert_eq!(f("-"), Ok(Some(SamplesFormat::Jsonl)));
        for bad in ["run.json", "run", "run.csv.gz", ".csv"] {
            let err = f(bad).unwrap_err();
            assert!(
                err.0.contains("--samples") && err.0.contains(".csv"),
                "{err}"
            );
        }
        assert!(f("").unwrap_err().0.contains("needs a file name"));
        assert_eq!(from_args(None, None), Ok(None));
        let err = from_args(None, Some(0.5)).unwrap_err();
        assert!(err.0.contains("--samples-rate") && err.0.contains("--samples FILE"));
        let spec = from_args(Some("x.csv"), Some(0.25)).unwrap().unwrap();
        assert_eq!(spec.rate, 0.25);
        assert_eq!(from_args(Some("x.csv"), None).unwrap().unwrap().rate, 1.0);
    }

    #[test]
    fn the_place_is_its_own() {
        let spec = |f: &str| from_args(Some(f), None).unwrap().unwrap();
        let json = |d: Dest| OutputSpec {
            format: Format::Json,
            dest: d,
        };
        let err = check_place(&spec("-"), &[json(Dest::Stdout)], &[]).unwrap_err();
        assert!(
            err.0.contains("--json and --samples both write to stdout"),
            "{err}"
        );
        let err = check_place(&spec("r.csv"), &[json(Dest::File("./r.csv".into()))], &[]);
        assert!(err.unwrap_err().0.contains("the file r.csv"));
        let err = check_place(&spec("d.csv"), &[], &[("--data", Path::new("d.csv"))]);
        assert!(err.unwrap_err().0.contains("which --data reads"));
        assert!(check_place(&spec("s.csv"), &[json(Dest::Stdout)], &[]).is_ok());
    }
}
