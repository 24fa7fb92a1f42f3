//! How stream calls cross the boundary (see `crate::stream`). Every function here is
//! non-generic on purpose: the plugin side calls them from its root module, which then holds
//! no serde instantiations of its own (see the note in `VenueShim::dispatch`).

use abi_stable::std_types::{RString, RVec};
use serde::{Deserialize, Serialize};

use super::FfiFrame;
use crate::error::{ErrorKind, PluginError, PluginResult};
use crate::stream::{StreamChannel, StreamFrame, StreamRequest, StreamSpec};
use crate::venue::CallCtx;

/// Arguments of `stream_spec` and (with the frame as the body) `stream_parse`.
#[derive(Serialize, Deserialize)]
struct Args {
    channel: StreamChannel,
    ctx: CallCtx,
}

/// Host side: the arguments as a head.
#[cfg(any(test, feature = "host"))]
pub(crate) fn encode_args(channel: StreamChannel, ctx: CallCtx) -> PluginResult<RString> {
    super::to_json(&Args { channel, ctx })
}

/// Plugin side: the arguments back.
#[inline(never)]
pub(crate) fn decode_args(what: &str, head: &RString) -> PluginResult<(StreamChannel, CallCtx)> {
    let a: Args = super::from_json(what, head.as_str())?;
    Ok((a.channel, a.ctx))
}

/// Plugin side: a request back.
#[inline(never)]
pub(crate) fn decode_request(head: &RString) -> PluginResult<StreamRequest> {
    super::from_json("stream_messages", head.as_str())
}

/// Plugin side: the frame's text.
#[inline(never)]
pub(crate) fn frame_text(body: &RVec<u8>) -> PluginResult<&str> {
    std::str::from_utf8(body.as_slice())
        .map_err(|_| PluginError::new(ErrorKind::Parse, "stream_parse: frame is not UTF-8"))
}

/// Plugin side: a spec as a frame.
#[inline(never)]
pub(crate) fn encode_spec(s: &StreamSpec) -> PluginResult<FfiFrame> {
    super::to_json(s).map(FfiFrame::head)
}

/// Plugin side: messages as a frame.
#[inline(never)]
pub(crate) fn encode_messages(m: &[String]) -> PluginResult<FfiFrame> {
    super::to_json(&m).map(FfiFrame::head)
}

/// Plugin side: parsed events as a frame.
#[inline(never)]
pub(crate) fn encode_frame(f: &StreamFrame) -> PluginResult<FfiFrame> {
    super::to_json(f).map(FfiFrame::head)
}
