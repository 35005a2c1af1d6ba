//! Exact amounts: JSON numbers and digit strings read as decimals, added, and written back in
//! the type they came in, so no amount passes through a binary float's arithmetic.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Number, Value};

/// A JSON number or a string of decimal digits as a decimal; None for anything else.
pub(crate) fn decimal(value: &Value) -> Option<Decimal> {
    match value {
        // A number's shortest text (17.1, not 17.099999999999998) is the decimal it stands for.
        Value::Number(n) => {
            if let Some(whole) = n.as_i64() {
                return Some(Decimal::from(whole));
            }
            // A whole float (45.0, as fixtures write amounts) needs no text to be exact.
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15) {
                return Some(Decimal::from(f as i64));
            }
            let text = n.to_string();
            Decimal::from_str(&text).or_else(|_| Decimal::from_scientific(&text)).ok()
        }
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        _ => None,
    }
}

/// `amount` written like `like`: a string of digits for a string, an integer for an integer
/// (while it stays whole), else a JSON number whose shortest text is the decimal itself.
pub(crate) fn written_like(amount: Decimal, like: &Value) -> Value {
    let amount = amount.normalize();
    match like {
        Value::String(_) => Value::String(amount.to_string()),
        Value::Number(n) if n.is_i64() || n.is_u64() => match i64::try_from(amount) {
            Ok(whole) if amount.fract().is_zero() => Value::from(whole),
            _ => number(amount),
        },
        _ => number(amount),
    }
}

/// A decimal as a JSON number: an integer where it is one, else the float whose shortest
/// text is the decimal's own (28 digits fit no float; money written here has far fewer).
pub(crate) fn number(amount: Decimal) -> Value {
    let amount = amount.normalize();
    if amount.scale() == 0 {
        if let Ok(i) = i64::try_from(amount.mantissa()) {
            // Floats as the fixtures write whole amounts: 45.0.
            return Number::from_f64(i as f64).map_or(Value::Null, Value::Number);
        }
    }
    amount.to_string().parse::<f64>().ok().and_then(Number::from_f64).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sums_are_exact_in_the_type_they_came_in() {
        let a = decimal(&json!(17.0)).unwrap() + decimal(&json!(0.1)).unwrap();
        assert_eq!(written_like(a, &json!(1.0)).to_string(), "17.1");
        let held = decimal(&json!("320005300000000000000")).unwrap() + decimal(&json!("1")).unwrap();
        assert_eq!(written_like(held, &json!("0")), json!("320005300000000000001"));
        assert_eq!(number(Decimal::from(45)).to_string(), "45.0");
        assert_eq!(written_like(Decimal::from(3), &json!(2)), json!(3), "an integer stays one");
        assert_eq!(decimal(&json!("x")), None);
        // Whole floats take no text on the way; large and fractional ones do, and stay exact.
        assert_eq!(decimal(&json!(45.0)), Some(Decimal::from(45)));
        assert_eq!(decimal(&json!(-3.0)), Some(Decimal::from(-3)));
        assert_eq!(decimal(&json!(1e20)), Decimal::from_str("100000000000000000000").ok());
        assert_eq!(decimal(&json!(u64::MAX)), Some(Decimal::from(u64::MAX)));
        assert_eq!(decimal(&json!(36.42)), Decimal::from_str("36.42").ok());
    }

    #[test]
    fn the_float_sum_that_went_wrong_is_right() {
        let mut total = Decimal::ZERO;
        for cents in ["12.3", "4.8"] {
            total += decimal(&json!(cents.parse::<f64>().unwrap())).unwrap();
        }
        assert_eq!(number(total).to_string(), "17.1");
    }
}
