//! The tag-first reader against serde's own derive: the same enum both ways must accept and
//! refuse the same JSON, and read the same values.

use crate::order::{OrderRequest, Side, TimeInForce};
use crate::venue::{OpResult, Step, VenueOp};
use crate::{HttpRequest, Price, Qty};
use serde::{Deserialize, Serialize};

tag_first_enum! {
    #[derive(Clone, Debug, PartialEq)]
    enum Fast tagged "t" {
        Unit,
        Pair { a: u32, #[serde(default)] b: Option<String> },
        Nested { inner: Box<Fast>, side: Side },
    }
}

/// The oracle: serde's derive of the same enum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Derived {
    Unit,
    Pair {
        a: u32,
        #[serde(default)]
        b: Option<String>,
    },
    Nested {
        inner: Box<Derived>,
        side: Side,
    },
}

fn same(f: &Fast, d: &Derived) -> bool {
    serde_json::to_value(f).unwrap() == serde_json::to_value(d).unwrap()
}

#[test]
fn accepts_and_refuses_what_serdes_derive_does_in_any_key_order() {
    let cases = [
        r#"{"t":"unit"}"#,
        r#"{"t":"unit","x":[1,{"y":2}]}"#,
        r#"{"x":1,"t":"unit"}"#,
        r#"{"t":"pair","a":7}"#,
        r#"{"t":"pair","a":7,"b":"z"}"#,
        r#"{"a":7,"t":"pair","b":"z"}"#,
        r#"{"b":null,"a":7,"t":"pair"}"#,
        r#"{"t":"pair","a":7,"extra":true}"#,
        r#"{"t":"nested","inner":{"t":"pair","a":1},"side":"buy"}"#,
        r#"{"side":"sell","inner":{"a":1,"t":"pair"},"t":"nested"}"#,
        r#"{"t":"nested","inner":{"t":"unit"},"side":"hold"}"#,
        r#"{"t":"pair"}"#,
        r#"{"t":"pair","a":-1}"#,
        r#"{"t":"pair","a":"7"}"#,
        r#"{"t":"nope"}"#,
        r#"{"t":7}"#,
        r#"{"t":null}"#,
        r#"{"a":7}"#,
        r#"{}"#,
        r#"[]"#,
        r#""unit""#,
        r#"{"t":"pair","a":7"#,
    ];
    for json in cases {
        let f = serde_json::from_str::<Fast>(json);
        let d = serde_json::from_str::<Derived>(json);
        match (&f, &d) {
            (Ok(f), Ok(d)) => assert!(same(f, d), "{json}: {f:?} vs {d:?}"),
            (Err(_), Err(_)) => {}
            _ => panic!("{json}: tag-first {f:?}, serde's derive {d:?}"),
        }
    }
}

#[test]
fn errors_name_the_missing_tag_the_unknown_variant_and_the_missing_field() {
    let err = |j: &str| serde_json::from_str::<Fast>(j).unwrap_err().to_string();
    assert!(
        err(r#"{"a":1}"#).contains("missing field `t`"),
        "{}",
        err(r#"{"a":1}"#)
    );
    assert!(err(r#"{}"#).contains("missing field `t`"));
    let unknown = err(r#"{"t":"nope"}"#);
    assert!(unknown.contains("unknown variant `nope`"), "{unknown}");
    assert!(err(r#"{"a":1,"t":"nope"}"#).contains("unknown variant `nope`"));
    assert!(err(r#"{"t":"pair"}"#).contains("missing field `a`"));
    assert!(err(r#"{"a":"x","t":"pair"}"#).contains("invalid type"));
}

#[test]
fn the_boundarys_enums_read_back_what_they_wrote_in_either_key_order() {
    let order = OrderRequest {
        client_order_id: "t-1-a".into(),
        instrument: "tok".into(),
        side: Side::Buy,
        price: Price::parse("0.37").unwrap(),
        qty: Qty::shares(10),
        tif: TimeInForce::Gtd { expires_ms: 5 },
        post_only: false,
    };
    let ops = [
        VenueOp::PlaceOrder {
            order: order.clone(),
        },
        VenueOp::Balance,
        VenueOp::Fills {
            instrument: Some("tok".into()),
            since_ms: None,
        },
    ];
    for op in ops {
        let json = serde_json::to_string(&op).unwrap();
        assert!(json.starts_with(r#"{"op":"#), "{json}");
        assert_eq!(serde_json::from_str::<VenueOp>(&json).unwrap(), op);
        // The tag moved last: the buffered path.
        let tag = format!(r#""op":"{}""#, op.name());
        let rest = json.strip_prefix(&format!("{{{tag}")).unwrap();
        let moved = match rest.strip_prefix(',') {
            Some(fields) => format!("{{{},{tag}}}", &fields[..fields.len() - 1]),
            None => format!(r#"{{"x":1,{tag}}}"#),
        };
        assert!(!moved.starts_with(r#"{"op":"#), "{moved}");
        assert_eq!(serde_json::from_str::<VenueOp>(&moved).unwrap(), op);
    }
    let step = Step::Http {
        request: HttpRequest::new("POST", "http://x/order", "order"),
        state: "{\"k\":1}".into(),
    };
    let json = serde_json::to_string(&step).unwrap();
    assert_eq!(serde_json::from_str::<Step>(&json).unwrap(), step);
    let done = Step::Done {
        result: OpResult::Balance {
            balance: crate::order::Balance {
                available: crate::Usd::dollars(3),
                total: crate::Usd::dollars(4),
            },
        },
    };
    let json = serde_json::to_string(&done).unwrap();
    assert_eq!(serde_json::from_str::<Step>(&json).unwrap(), done);
}

#[test]
fn a_tag_with_escapes_is_read_as_well() {
    // serde_json hands an escaped string over as an owned one, not borrowed.
    let j = r#"{"t":"p\u0061ir","a":3}"#;
    assert_eq!(
        serde_json::from_str::<Fast>(j).unwrap(),
        Fast::Pair { a: 3, b: None }
    );
}

#[test]
fn a_repeated_tag_is_the_one_known_difference() {
    // Documented in the module: the fast path takes the first tag and ignores a later copy as
    // an unknown field; serde's buffer refuses the duplicate. No encoder writes one.
    let j = r#"{"t":"pair","t":"unit","a":1}"#;
    assert_eq!(
        serde_json::from_str::<Fast>(j).unwrap(),
        Fast::Pair { a: 1, b: None }
    );
    let e = serde_json::from_str::<Derived>(j).unwrap_err().to_string();
    assert!(e.contains("duplicate field `t`"), "{e}");
}
