//! The named computations a behaviour file's write can ask for (`compute: NAME`): effects that
//! need arithmetic a template cannot say. Each is one documented function over the written record.

use rust_decimal::Decimal;
use serde_json::Value;

use crate::json::at;
use crate::state::money::{decimal, number};

/// A computation over the written record; the error names the field (by JSON pointer) and what
/// was expected.
pub(crate) type Compute = fn(&mut Value) -> Result<(), String>;

/// The computation called `name`, if there is one.
pub(crate) fn named(name: &str) -> Option<Compute> {
    match name {
        "transfer_balance" => Some(transfer_balance),
        _ => None,
    }
}

/// Every name [`named`] knows, for the load's error message.
pub(crate) const NAMES: &[&str] = &["transfer_balance"];

/// A TMF654 transfer, as BRM records the seed transfer: the request's `amount` is what moves
/// from `bucket` to `receiverBucket`; `transferCost.amount` (or `.value`, TMF's Money; zero when
/// absent) is charged to the `costOwner`'s bucket (`originator` unless `receiver`). Writes
/// `impactedBucket`: a cost debit, the originator's debit and the receiver's credit (a negative
/// amount), and sets `amount` to the moved amount plus the cost, `transferCost` to the cost.
/// Each item's amount is what leaves its bucket, so a bucket's remaining value falls by it.
pub(crate) fn transfer_balance(record: &mut Value) -> Result<(), String> {
    let moved = at(record, "/amount/amount").and_then(decimal).ok_or("/amount/amount: expected a number")?;
    if moved <= Decimal::ZERO {
        return Err(format!("/amount/amount: {moved} is not positive; a transfer moves a positive amount"));
    }
    let units = at(record, "/amount/units").cloned().unwrap_or(Value::Null);
    let cost = match at(record, "/transferCost/amount").or_else(|| at(record, "/transferCost/value")) {
        Some(v) => decimal(v).ok_or("/transferCost: expected a number")?,
        None => Decimal::ZERO,
    };
    if cost < Decimal::ZERO {
        return Err(format!("/transferCost: {cost} is negative; expected a cost of zero or more"));
    }
    let from = at(record, "/bucket").ok_or("/bucket: required")?;
    let to = at(record, "/receiverBucket").ok_or("/receiverBucket: required")?;
    let owner = at(record, "/costOwner").and_then(Value::as_str).unwrap_or("originator").to_string();
    let when = at(record, "/confirmationDate").cloned().unwrap_or(Value::Null);
    // Built member by member: `json!` serialises each value it is given, a copy far dearer than a clone.
    let quantity =
        |amount: Decimal| object([("amount", number(amount)), ("units", units.clone()), ("@type", "Quantity".into())]);
    let impacted = |bucket: &Value, amount: Decimal, item_type: &str, name: &str| {
        let item = object([
            ("@type", "ImpactedBucketItem".into()),
            ("amount", quantity(amount)),
            ("itemType", item_type.into()),
            ("name", name.into()),
        ]);
        object([
            ("@type", "ImpactedBucket".into()),
            ("bucket", bucket.clone()),
            ("confirmationDate", when.clone()),
            ("requestedDate", when.clone()),
            ("item", Value::Array(vec![item])),
        ])
    };
    let mut items = Vec::new();
    if cost > Decimal::ZERO {
        items.push(match owner.as_str() {
            "receiver" => impacted(to, cost, "debit", "transfer cost-receiver"),
            _ => impacted(from, cost, "debit", "transfer cost-originator"),
        });
    }
    items.push(impacted(from, moved, "debit", "originator"));
    items.push(impacted(to, -moved, "credit", "receiver"));
    let object = record.as_object_mut().ok_or("the transfer is not an object")?;
    object.insert("costOwner".into(), Value::String(owner));
    object.insert("impactedBucket".into(), Value::Array(items));
    let charged = moved.checked_add(cost).ok_or("/amount/amount: too large to add the cost to exactly")?;
    object.insert("amount".into(), quantity(charged));
    object.insert("transferCost".into(), quantity(cost));
    Ok(())
}

/// An object of these members, in this order.
fn object<const N: usize>(members: [(&str, Value); N]) -> Value {
    let mut map = serde_json::Map::with_capacity(N);
    for (name, value) in members {
        map.insert(name.to_string(), value);
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn leaving(record: &Value, bucket: &str) -> Decimal {
        record["impactedBucket"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["bucket"]["id"] == bucket)
            .map(|i| decimal(&i["item"][0]["amount"]["amount"]).unwrap())
            .sum()
    }

    #[test]
    fn the_originator_pays_the_cost_and_the_receiver_gets_the_amount() {
        let mut t = json!({"amount": {"amount": 10.1, "units": "EUR"}, "transferCost": {"amount": 0.2},
                           "bucket": {"id": "a"}, "receiverBucket": {"id": "b"}});
        transfer_balance(&mut t).unwrap();
        assert_eq!(leaving(&t, "a").to_string(), "10.3");
        assert_eq!(leaving(&t, "b").to_string(), "-10.1");
        assert_eq!(t["amount"]["amount"].to_string(), "10.3");
        assert_eq!(t["costOwner"], "originator");
    }

    #[test]
    fn a_receiver_owned_cost_is_taken_from_what_it_receives() {
        let mut t = json!({"amount": {"amount": 5, "units": "s"}, "transferCost": {"value": 1}, "costOwner": "receiver",
                           "bucket": {"id": "a"}, "receiverBucket": {"id": "b"}});
        transfer_balance(&mut t).unwrap();
        assert_eq!(leaving(&t, "a"), Decimal::from(5));
        assert_eq!(leaving(&t, "b"), Decimal::from(-4));
    }

    #[test]
    fn nothing_or_less_is_not_a_transfer() {
        let mut t = json!({"amount": {"amount": 0}, "bucket": {"id": "a"}, "receiverBucket": {"id": "b"}});
        assert!(transfer_balance(&mut t).unwrap_err().contains("not positive"));
    }
}
