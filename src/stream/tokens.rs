//! Counting tokens when the server does not say how many it sent: a local Hugging Face
//! tokenizer file ([`Tokenizer`], `--tokenizer tokenizer.json`, nothing downloaded), or an
//! estimate from the text ([`TextTokens`]).
//!
//! The estimate counts each CJK character (Han, kana, Hangul, CJK punctuation and full-width
//! forms) as one token, each run of letters, digits and `_` as one token and each run of
//! other non-space characters (punctuation, symbols) as one token: the split of Hugging Face's
//! `Whitespace` pre-tokenizer (`\w+|[^\w\s]+`) with CJK characters apart. English text has
//! about 1.3 BPE tokens per such word, so the estimate is low for real models' tokenizers;
//! reports label it as an estimate.

use std::fmt;
use std::path::Path;

/// An incremental token estimate over text that arrives in pieces (a word split across two
/// events is counted once).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextTokens {
    count: u64,
    run: Run,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Run {
    #[default]
    None,
    Word,
    Symbol,
}

impl TextTokens {
    pub const fn new() -> Self {
        TextTokens {
            count: 0,
            run: Run::None,
        }
    }

    /// Take the next piece of text.
    pub fn feed(&mut self, text: &str) {
        for c in text.chars() {
            let run = if is_cjk(c) {
                self.count += 1;
                Run::None
            } else if c.is_whitespace() {
                Run::None
            } else if c.is_alphanumeric() || c == '_' {
                Run::Word
            } else {
                Run::Symbol
            };
            if run != Run::None && run != self.run {
                self.count += 1;
            }
            self.run = run;
        }
    }

    /// Tokens so far.
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// The estimated tokens of `text` (see the module's documentation for the rule).
pub fn estimate_tokens(text: &str) -> u64 {
    let mut t = TextTokens::new();
    t.feed(text);
    t.count()
}

/// CJK characters, each counted as a token of its own.
fn is_cjk(c: char) -> bool {
    matches!(u32::from(c),
        0x3000..=0x303F      // CJK symbols and punctuation
        | 0x3040..=0x30FF    // Hiragana, Katakana
        | 0x3100..=0x31FF    // Bopomofo, Hangul compatibility jamo, Katakana extension
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0xFF00..=0xFFEF    // Half-width and full-width forms
        | 0x20000..=0x3134F // CJK extensions B to G
    )
}

/// A Hugging Face tokenizer loaded from a local `tokenizer.json` (`--tokenizer`); shared by
/// every user thread (`Arc<Tokenizer>`).
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    /// The file's name, for reports.
    name: String,
}

impl fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokenizer")
            .field("name", &self.name)
            .finish()
    }
}

impl Tokenizer {
    /// Load `path` (the `tokenizer.json` of a Hugging Face model; nothing is downloaded).
    ///
    /// # Errors
    ///
    /// When the file cannot be read or is not a tokenizer the `tokenizers` crate can load; the
    /// message says which.
    pub fn from_file(path: &Path) -> Result<Tokenizer, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read the file: {e}"))?;
        let inner = tokenizers::Tokenizer::from_bytes(&bytes).map_err(|e| {
            format!("not a Hugging Face tokenizer.json the tokenizers library can load: {e}")
        })?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        Ok(Tokenizer { inner, name })
    }

    /// The file name it was loaded from.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Tokens of `text`, without special tokens (what a model would generate for it).
    pub fn count(&self, text: &str) -> u64 {
        self.encode(text).len() as u64
    }

    /// The token ids of `text`, without special tokens (empty when the tokenizer fails).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        self.inner
            .encode_fast(text, false)
            .map(|e| e.get_ids().to_vec())
            .unwrap_or_default()
    }

    /// Where each token of `text` starts, as byte offsets into `text` (without special
    /// tokens; empty when the tokenizer fails): `text[..starts[n]]` is the text before token n.
    pub fn token_starts(&self, text: &str) -> Vec<usize> {
        self.inner
            .encode(text, false)
            .map(|e| e.get_offsets().iter().map(|o| o.0).collect())
            .unwrap_or_default()
    }

    /// The text of `ids`, special tokens skipped (empty when the tokenizer fails).
    pub fn decode(&self, ids: &[u32]) -> String {
        self.inner.decode(ids, true).unwrap_or_default()
    }

    /// Tokens in the vocabulary, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The ids of the model's vocabulary that are neither special nor added tokens, in order:
    /// what random prompts are drawn from.
    pub fn plain_ids(&self) -> Vec<u32> {
        let special = self.special_ids();
        let mut ids: Vec<u32> = self
            .inner
            .get_vocab(false)
            .into_values()
            .filter(|id| !special.contains(id))
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The ids of special and added tokens (not for random prompts).
    pub fn special_ids(&self) -> Vec<u32> {
        self.inner
            .get_added_tokens_decoder()
            .keys()
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_symbols_and_cjk() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("   \n\t"), 0);
        assert_eq!(estimate_tokens("The quick brown fox"), 4);
        assert_eq!(estimate_tokens("dog, and then."), 5);
        assert_eq!(estimate_tokens("it's 3.14!"), 7, "it ' s 3 . 14 !");
        assert_eq!(estimate_tokens("snake_case x2"), 2);
        assert_eq!(estimate_tokens("你好，世界"), 5);
        assert_eq!(estimate_tokens("Rust语言很快"), 5);
        assert_eq!(estimate_tokens("こんにちは"), 5);
        assert_eq!(estimate_tokens("안녕"), 2);
        assert_eq!(estimate_tokens("café naïve"), 2);
        assert_eq!(estimate_tokens("-->"), 1);
    }

    #[test]
    fn pieces_count_as_the_whole_text() {
        let text = "Hello, world! 你好 snake_case... done";
        let whole = estimate_tokens(text);
        // Every split point (on char boundaries) gives the same count.
        for (i, _) in text.char_indices() {
            let mut t = TextTokens::new();
            t.feed(&text[..i]);
            t.feed(&text[i..]);
            assert_eq!(t.count(), whole, "split at {i}");
        }
        let mut t = TextTokens::new();
        for piece in ["Hel", "lo", " wor", "ld", ",", " ", "ok"] {
            t.feed(piece);
        }
        assert_eq!(t.count(), 4);
    }

    #[test]
    fn a_tokenizer_file_loads_and_counts() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tokenizer-words.json");
        let t = Tokenizer::from_file(&path).unwrap();
        assert_eq!(t.name(), "tokenizer-words.json");
        assert_eq!(t.count("The quick brown fox, and then."), 8);
        let ids = t.encode("quick fox");
        assert_eq!(ids.len(), 2);
        assert_eq!(t.decode(&ids), "quick fox");
        assert!(t.vocab_size() >= 16);
        let chars = Tokenizer::from_file(&path.with_file_name("tokenizer-chars.json")).unwrap();
        assert_eq!(chars.count("The fox."), 8, "one token per character");
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("t.json");
        std::fs::write(&bad, "{\"model\": 5}").unwrap();
        let e = Tokenizer::from_file(&bad).unwrap_err();
        assert!(e.contains("tokenizer.json"), "{e}");
        let e = Tokenizer::from_file(&dir.path().join("absent.json")).unwrap_err();
        assert!(e.contains("cannot read"), "{e}");
    }
}
