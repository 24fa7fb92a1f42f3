//! How a venue call crosses the boundary: each call and answer is encoded once. The structured
//! part (operation, context, response status, step kind, request line and headers, result) is
//! one JSON head; the opaque continuation state and the HTTP body travel beside it as raw bytes,
//! never escaped into a JSON string inside another JSON document.

use abi_stable::std_types::{RString, RVec};
use abi_stable::StableAbi;
use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, PluginError, PluginResult};
use crate::http::{HttpRequest, HttpResponse};
use crate::venue::{CallCtx, OpResult, Step};

/// One venue call or answer across the boundary.
#[repr(C)]
#[derive(StableAbi, Clone, Debug, Default)]
pub struct FfiFrame {
    /// JSON of everything but the state and the body.
    pub head: RString,
    /// The operation's continuation state (UTF-8), when the call or answer has one.
    pub state: RVec<u8>,
    /// The HTTP body (the request to send, or the response received), when there is one.
    pub body: RVec<u8>,
}

impl FfiFrame {
    /// A frame with only a head.
    pub(crate) fn head(head: RString) -> FfiFrame {
        FfiFrame {
            head,
            ..FfiFrame::default()
        }
    }
}

/// [`HttpRequest`] without its body.
#[derive(Serialize, Deserialize)]
struct RequestHead {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    idempotent: bool,
    rate_class: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expected_order_id: Option<String>,
}

crate::tag_first::tag_first_enum! {
    /// [`Step`] without its state and body.
    enum StepHead tagged "step" {
        Http { request: RequestHead },
        Wait { ms: u64 },
        Done { result: OpResult },
    }
}

/// `resume`'s arguments without the state and the response body.
#[derive(Serialize, Deserialize)]
struct ResumeHead {
    status: u16,
    headers: Vec<(String, String)>,
    ctx: CallCtx,
}

fn encode<T: Serialize>(v: &T) -> PluginResult<RString> {
    serde_json::to_string(v)
        .map(RString::from)
        .map_err(|e| PluginError::new(ErrorKind::Internal, format!("encode: {e}")))
}

fn decode<T: for<'de> Deserialize<'de>>(what: &str, s: &str) -> PluginResult<T> {
    super::from_json(what, s)
}

fn state_string(what: &str, state: RVec<u8>) -> PluginResult<String> {
    String::from_utf8(state.into_vec()).map_err(|_| {
        PluginError::new(
            ErrorKind::Parse,
            format!("{what}: continuation state is not UTF-8"),
        )
    })
}

/// Plugin side: a step as a frame.
pub(crate) fn encode_step(step: Step) -> PluginResult<FfiFrame> {
    Ok(match step {
        Step::Http { request, state } => {
            let HttpRequest {
                method,
                url,
                headers,
                body,
                idempotent,
                rate_class,
                expected_order_id,
            } = request;
            FfiFrame {
                head: encode(&StepHead::Http {
                    request: RequestHead {
                        method,
                        url,
                        headers,
                        idempotent,
                        rate_class,
                        expected_order_id,
                    },
                })?,
                state: RVec::from(state.into_bytes()),
                body: RVec::from(body),
            }
        }
        Step::Wait { ms, state } => FfiFrame {
            head: encode(&StepHead::Wait { ms })?,
            state: RVec::from(state.into_bytes()),
            body: RVec::new(),
        },
        Step::Done { result } => FfiFrame::head(encode(&StepHead::Done { result })?),
    })
}

/// Host side: a frame back into a step.
#[cfg(any(test, feature = "host"))]
pub(crate) fn decode_step(what: &str, frame: FfiFrame) -> PluginResult<Step> {
    let FfiFrame { head, state, body } = frame;
    Ok(match decode::<StepHead>(what, head.as_str())? {
        StepHead::Http { request: r } => Step::Http {
            request: HttpRequest {
                method: r.method,
                url: r.url,
                headers: r.headers,
                body: body.into_vec(),
                idempotent: r.idempotent,
                rate_class: r.rate_class,
                expected_order_id: r.expected_order_id,
            },
            state: state_string(what, state)?,
        },
        StepHead::Wait { ms } => Step::Wait {
            ms,
            state: state_string(what, state)?,
        },
        StepHead::Done { result } => Step::Done { result },
    })
}

/// Host side: `resume`'s arguments as a frame.
#[cfg(any(test, feature = "host"))]
pub(crate) fn encode_resume(
    state: String,
    response: HttpResponse,
    ctx: CallCtx,
) -> PluginResult<FfiFrame> {
    let HttpResponse {
        status,
        headers,
        body,
    } = response;
    Ok(FfiFrame {
        head: encode(&ResumeHead {
            status,
            headers,
            ctx,
        })?,
        state: RVec::from(state.into_bytes()),
        body: RVec::from(body),
    })
}

/// Plugin side: `resume`'s arguments back from a frame.
pub(crate) fn decode_resume(frame: FfiFrame) -> PluginResult<(String, HttpResponse, CallCtx)> {
    let FfiFrame { head, state, body } = frame;
    let h: ResumeHead = decode("resume", head.as_str())?;
    Ok((
        state_string("resume", state)?,
        HttpResponse {
            status: h.status,
            headers: h.headers,
            body: body.into_vec(),
        },
        h.ctx,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_resumes_round_trip_with_raw_bytes() {
        let req = HttpRequest::new("POST", "https://x/order", "write")
            .header("a", "b")
            .json_body(br#"{"k":"v \" \\ \u00e9"}"#.to_vec())
            .expect_order_id("0xabc");
        let steps = [
            Step::Http {
                request: req.clone(),
                state: r#"{"phase":"sent","q":"\""}"#.into(),
            },
            Step::Wait {
                ms: 5,
                state: "w".into(),
            },
            Step::Done {
                result: OpResult::Prepared,
            },
        ];
        for s in steps {
            let f = encode_step(s.clone()).unwrap();
            // The state and body are not inside the JSON head.
            assert!(!f.head.as_str().contains("phase"), "{}", f.head);
            assert!(!f.head.as_str().contains("\"k\""), "{}", f.head);
            assert_eq!(decode_step("t", f).unwrap(), s);
        }
        let resp = HttpResponse {
            status: 201,
            headers: vec![("h".into(), "v".into())],
            body: vec![0, 159, 146, 150],
        };
        let ctx = CallCtx {
            now_ms: 9,
            random: [3; 32],
        };
        let f = encode_resume("st".into(), resp.clone(), ctx).unwrap();
        assert_eq!(decode_resume(f).unwrap(), ("st".to_string(), resp, ctx));
        let bad = FfiFrame {
            head: encode(&StepHead::Wait { ms: 1 }).unwrap(),
            state: RVec::from(vec![0xff, 0xfe]),
            body: RVec::new(),
        };
        let e = decode_step("resume", bad).unwrap_err();
        assert!(e.message.contains("not UTF-8"), "{e}");
    }
}
