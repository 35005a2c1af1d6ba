//! What a caller can force with the `Prefer` header, as Prism does: `code=N`, `example=NAME`, `delay=MS`.

use std::time::Duration;

/// The parsed `Prefer` header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Prefer {
    /// `code=N`: answer with this declared status.
    pub(crate) code: Option<u16>,
    /// `example=NAME`: answer with this named example.
    pub(crate) example: Option<String>,
    /// `delay=MS`: wait this long before answering.
    pub(crate) delay: Option<Duration>,
}

/// The longest delay a request may ask for.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(60);

impl Prefer {
    /// Parses every `Prefer` header value; `Err` says which preference is malformed.
    pub(crate) fn parse<'a>(values: impl Iterator<Item = &'a str>) -> Result<Prefer, String> {
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
                            format!(
                                "Prefer: delay={raw:?} is not a whole number of milliseconds; expected e.g. delay=250"
                            )
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

/// Server-wide latency and failure injection, seeded so a test run repeats.
#[derive(Debug)]
pub(crate) struct Faults {
    /// Added to every response.
    pub(crate) delay: Duration,
    /// A further uniformly drawn delay in `[0, jitter]`.
    pub(crate) jitter: Duration,
    /// Share of requests, 0.0 to 1.0, answered with the operation's documented 500.
    pub(crate) fail_rate: f64,
    rng: std::sync::Mutex<rand_chacha::ChaCha8Rng>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults::new(Duration::ZERO, Duration::ZERO, 0.0, 0)
    }
}

impl Faults {
    /// Faults drawn from `seed`.
    pub(crate) fn new(delay: Duration, jitter: Duration, fail_rate: f64, seed: u64) -> Faults {
        use rand::SeedableRng;
        Faults {
            delay,
            jitter,
            fail_rate: fail_rate.clamp(0.0, 1.0),
            rng: std::sync::Mutex::new(rand_chacha::ChaCha8Rng::seed_from_u64(seed)),
        }
    }

    /// True when nothing is injected.
    pub(crate) fn is_quiet(&self) -> bool {
        self.delay.is_zero() && self.jitter.is_zero() && self.fail_rate == 0.0
    }

    /// This request's injected delay, and whether it fails.
    pub(crate) fn draw(&self) -> (Duration, bool) {
        use rand::Rng;
        if self.is_quiet() {
            return (Duration::ZERO, false);
        }
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let jitter = if self.jitter.is_zero() { Duration::ZERO } else { self.jitter.mul_f64(rng.random::<f64>()) };
        let fail = self.fail_rate > 0.0 && rng.random::<f64>() < self.fail_rate;
        (self.delay + jitter, fail)
    }
}
