//! Seeded generators of realistic fixture data, one module per API. The same seed and scale give
//! the same bytes on every machine: ChaCha8 is portable and nothing reads the clock.

pub(crate) mod oes_partners;
pub(crate) mod prepay_balance;

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

/// The APIs that have a generator.
pub const APIS: [&str; 2] = ["oes-partners", "prepay-balance"];

/// One generated file, rendered: its name under `fixtures/<api>/` and its bytes.
pub struct FixtureFile {
    /// File name, e.g. `allocations.json`.
    pub name: String,
    /// The file's text, one record per line so diffs stay readable.
    pub text: String,
    /// How many records it holds.
    pub records: usize,
}

impl FixtureFile {
    /// The records, parsed back (for tests and small files).
    pub fn parse(&self) -> Vec<Value> {
        let parsed: Value = serde_json::from_str(&self.text).expect("generated files are JSON");
        parsed["records"].as_array().cloned().unwrap_or_default()
    }
}

/// Writes a fixture file record by record, so a large one is never held as parsed values.
pub(crate) struct FileWriter {
    name: String,
    /// The file so far; bytes, so records serialise straight into it.
    text: Vec<u8>,
    records: usize,
    aliases: Vec<(String, String)>,
}

impl FileWriter {
    /// An empty file called `name`.
    pub(crate) fn new(name: &str) -> FileWriter {
        FileWriter { name: name.into(), text: b"{\n  \"records\": [\n".to_vec(), records: 0, aliases: Vec::new() }
    }

    /// A file holding `records`.
    pub(crate) fn with(name: &str, records: &[Value]) -> FixtureFile {
        let mut file = FileWriter::new(name);
        for r in records {
            file.push(r);
        }
        file.finish()
    }

    /// Appends one record.
    pub(crate) fn push(&mut self, record: &Value) {
        self.text.extend_from_slice(if self.records == 0 { b"    " } else { b",\n    " });
        // Straight into the file's text: no String per record, which a million records notice.
        serde_json::to_writer(&mut self.text, record).expect("a JSON value serialises");
        self.records += 1;
    }

    /// Declares another key, `alias`, for the record keyed `key`.
    pub(crate) fn alias(&mut self, alias: String, key: String) {
        self.aliases.push((alias, key));
    }

    /// The finished file.
    pub(crate) fn finish(self) -> FixtureFile {
        let mut text = String::from_utf8(self.text).expect("serde_json writes UTF-8");
        text.push_str(if self.records == 0 { "  ]" } else { "\n  ]" });
        if !self.aliases.is_empty() {
            text.push_str(",\n  \"aliases\": {\n");
            for (i, (alias, key)) in self.aliases.iter().enumerate() {
                text.push_str(&format!(
                    "    {}: {}{}",
                    serde_json::to_string(alias).unwrap(),
                    serde_json::to_string(key).unwrap(),
                    if i + 1 < self.aliases.len() { ",\n" } else { "\n" }
                ));
            }
            text.push_str("  }");
        }
        text.push_str("\n}\n");
        FixtureFile { name: self.name, text, records: self.records }
    }
}

/// Generates the fixture files of `api`; None for an API without a generator.
pub fn generate(api: &str, seed: u64, scale: u32) -> Option<Vec<FixtureFile>> {
    let mut rng = Gen::new(seed);
    match api {
        "oes-partners" => Some(oes_partners::generate(&mut rng, scale.max(1))),
        "prepay-balance" => Some(prepay_balance::generate(&mut rng, scale.max(1))),
        _ => None,
    }
}

/// Writes generated files into `dir`.
pub fn write(dir: &Path, files: &[FixtureFile]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for file in files {
        std::fs::write(dir.join(&file.name), &file.text)?;
    }
    Ok(())
}

/// A seeded source of realistic values.
pub struct Gen {
    rng: ChaCha8Rng,
}

impl Gen {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Gen {
        Gen { rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// A number in `[low, high)`.
    pub fn below(&mut self, low: u64, high: u64) -> u64 {
        self.rng.random_range(low..high)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    /// A random version-4 UUID.
    pub fn uuid(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.random();
        uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
    }

    /// `n` lower-case hex digits.
    pub fn hex(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from_digit(self.rng.random_range(0..16), 16).unwrap()).collect()
    }

    /// An integer amount `mantissa * 10^exp` as decimal text, mantissa in `[lo, hi)`.
    pub fn base_units(&mut self, lo: u64, hi: u64, exp: u32) -> String {
        let mantissa = self.below(lo, hi) as u128;
        (mantissa * 10u128.pow(exp)).to_string()
    }

    /// An instant uniformly in `[start, start + span)`, to the millisecond.
    pub fn instant(&mut self, start: DateTime<Utc>, span: Duration) -> DateTime<Utc> {
        let ms = self.below(0, span.num_milliseconds() as u64);
        start + Duration::milliseconds(ms as i64)
    }
}

/// `2026-03-02T09:15:00.000Z`: BitGo's timestamp form.
pub(crate) fn iso_millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The first instant of a UTC day.
pub(crate) fn utc_day(year: i32, month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, 0, 0, 0).single().expect("a valid date")
}
