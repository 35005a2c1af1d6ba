//! What a caller can force with the `Prefer` header, as Prism does: `code=N`, `example=NAME`, `delay=MS`.

use std::time::Duration;

/// The parsed `Prefer` header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prefer {
    /// `code=N`: answer with this declared status.
    pub code: Option<u16>,
    /// `example=NAME`: answer with this named example.
    pub example: Option<String>,
    /// `delay=MS`: wait this long before answering.
    pub delay: Option<Duration>,
}

/// The longest delay a request may ask for.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

impl Prefer {
    /// Parses every `Prefer` header value; `Err` says which preference is malformed.
    pub fn parse<'a>(values: impl Iterator<Item = &'a str>) -> Result<Prefer, String> {
        let mut prefer = Prefer::default();
        for value in values {
            for item in value.split([',', ';']).map(str::trim).filter(|s| !s.is_empty()) {
                let (key, raw) = item.split_once('=').unwrap_or((item, ""));
                let raw = raw.trim().trim_matches('"');
                match key.trim() {
                    "code" => {
                        let code = raw.parse::<u16>().ok().filter(|c| (100..600).contains(c));
                        prefer.code = Some(code.ok_or_else(|| {
                            format!("Prefer: code={raw:?} is not an HTTP status; expected e.g. code=404")
                        })?);
                    }
                    "example" => prefer.example = Some(raw.to_string()),
                    "delay" => {
                        let ms = raw.parse::<u64>().map_err(|_| {
                            format!("Prefer: delay={raw:?} is not a whole number of milliseconds; expected e.g. delay=250")
                        })?;
                        prefer.delay = Some(Duration::from_millis(ms).min(MAX_DELAY));
                    }
                    // Other preferences (return=minimal, ...) are not ours to refuse.
                    _ => {}
                }
            }
        }
        Ok(prefer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prism_style_preferences() {
        let p = Prefer::parse(["code=404, example=\"unknownId\"", "delay=20"].into_iter()).unwrap();
        assert_eq!(p.code, Some(404));
        assert_eq!(p.example.as_deref(), Some("unknownId"));
        assert_eq!(p.delay, Some(Duration::from_millis(20)));
        assert!(Prefer::parse(["code=abc"].into_iter()).unwrap_err().contains("code=\"abc\""));
        assert_eq!(Prefer::parse(["return=minimal"].into_iter()).unwrap(), Prefer::default());
    }
}
