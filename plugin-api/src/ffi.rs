//! The FFI layer: abi_stable root modules and trait objects. Plugin authors never touch this;
//! the export macros build it from their plain Rust impls, and the host talks to it through
//! the typed handles (`VenueHandle`, `StrategyHandle`, `RiskHandle`), which exist only
//! with the `host` feature (or `testing`): a plugin built with default features sees only the
//! plugin side.
//!
//! Hot-path calls (strategy evaluation) pass `repr(C)` slices; everything else passes JSON
//! (`serde`) so operations and results can grow without breaking the layout. A venue call's
//! continuation state and HTTP body travel beside its JSON as raw bytes ([`FfiFrame`]), so each
//! call is encoded once.

mod stream_wire;
mod venue_wire;
pub use venue_wire::FfiFrame;

use abi_stable::library::RootModule;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RBox, ROption, RResult, RSlice, RStr, RString, RVec, Tuple2};
use abi_stable::{declare_root_module_statics, package_version_strings, sabi_trait, StableAbi};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::book::Level;
use crate::error::{ErrorKind, PluginError, PluginResult};
use crate::log::{with_instance, LogSink};
use crate::pair::PairSpec;
use crate::risk::{RiskPolicy, RiskProposal, RiskSnapshot};
use crate::secret::{Secret, Secrets};
use crate::strategy::{EvalCtx, PairBooks, Proposal, Strategy, StrategyConfig};
#[cfg(any(test, feature = "host"))]
use crate::stream::{StreamChannel, StreamFrame, StreamRequest, StreamSpec};
use crate::venue::{CallCtx, Venue, VenueConfig, VenueOp};
// What only the host-side handles name.
#[cfg(any(test, feature = "host"))]
use crate::{
    http::HttpResponse,
    info::PluginInfo,
    risk::RiskDecision,
    venue::{OpResult, Step, VenueEvent, VenueInfo},
};

/// An error as it crosses the boundary.
#[repr(C)]
#[derive(StableAbi, Clone, Debug)]
pub struct FfiError {
    /// [`ErrorKind::code`].
    pub code: u32,
    /// The venue code of a `Rejected` error, empty otherwise.
    pub reject_code: RString,
    /// Message.
    pub message: RString,
}

impl From<PluginError> for FfiError {
    fn from(e: PluginError) -> Self {
        let reject_code = match &e.kind {
            ErrorKind::Rejected { code } => code.clone(),
            _ => String::new(),
        };
        FfiError {
            code: e.kind.code(),
            reject_code: reject_code.into(),
            message: e.message.into(),
        }
    }
}

impl From<FfiError> for PluginError {
    fn from(e: FfiError) -> Self {
        PluginError::new(
            ErrorKind::from_code(e.code, e.reject_code.as_str()),
            e.message.into_string(),
        )
    }
}

/// Runs `f`, turning a panic into a [`ErrorKind::Panic`] error so it never unwinds into the
/// host (abi_stable would `exit(1)` the whole process).
pub fn guard<T>(what: &str, f: impl FnOnce() -> PluginResult<T>) -> PluginResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_string());
            Err(PluginError::new(
                ErrorKind::Panic,
                format!("plugin panicked in {what}: {msg}"),
            ))
        }
    }
}

fn to_json<T: Serialize>(v: &T) -> PluginResult<RString> {
    serde_json::to_string(v)
        .map(RString::from)
        .map_err(|e| PluginError::new(ErrorKind::Internal, format!("encode: {e}")))
}

fn from_json<T: DeserializeOwned>(what: &str, s: &str) -> PluginResult<T> {
    serde_json::from_str(s).map_err(|e| {
        // An unknown operation from a newer host is "unsupported", not a parse failure.
        if e.to_string().contains("unknown variant") {
            PluginError::new(ErrorKind::Unsupported, format!("{what}: {e}"))
        } else {
            PluginError::new(ErrorKind::Parse, format!("{what}: {e}"))
        }
    })
}

fn rresult<T>(r: PluginResult<T>) -> RResult<T, FfiError> {
    match r {
        Ok(v) => RResult::ROk(v),
        Err(e) => RResult::RErr(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Venue

/// Venue trait object across the boundary. Methods are dispatched by name with [`FfiFrame`]s:
/// a JSON head, and the continuation state and HTTP body as bytes.
#[sabi_trait]
pub trait FfiVenue: Send + Sync {
    /// `method` is `info`, `begin`, `resume`, `poll_events`, or (streams, see
    /// [`crate::stream`]) `stream_spec`, `stream_messages`, `stream_parse`. A method the
    /// plugin does not know answers [`ErrorKind::Unsupported`].
    fn call(&self, method: RStr<'_>, input: FfiFrame) -> RResult<FfiFrame, FfiError>;

    /// Next scheduled event time, if any.
    #[sabi(last_prefix_field)]
    fn next_event_ms(&self) -> ROption<i64>;
}

/// Owned venue trait object.
pub type FfiVenueBox = FfiVenue_TO<'static, RBox<()>>;

/// Root module of a venue plugin.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = VenueModuleRef)))]
pub struct VenueModule {
    /// Hands the plugin the host's log sink.
    pub set_log_sink: extern "C" fn(LogSink),
    /// Creates an instance: name, settings JSON, secrets.
    #[sabi(last_prefix_field)]
    pub create: extern "C" fn(
        RStr<'_>,
        RStr<'_>,
        RVec<Tuple2<RString, RString>>,
    ) -> RResult<FfiVenueBox, FfiError>,
    /// What the plugin declares ([`crate::declare::Declaration`] as JSON). After the last
    /// prefix field: a plugin built before declarations existed has none, and declares nothing.
    pub declaration: extern "C" fn() -> RString,
}

/// A declaration as the root module's `declaration` function returns it (the export macros call
/// this).
pub fn declaration_json(d: &crate::declare::Declaration) -> RString {
    // Plain data (enums and strings): serialization cannot fail.
    RString::from(serde_json::to_string(d).unwrap_or_default())
}

/// Reads a root module's declaration: `None` from a plugin built before declarations existed
/// (declares nothing), an error naming the problem for JSON the host cannot read.
#[cfg(any(test, feature = "host"))]
pub fn read_declaration(
    f: Option<extern "C" fn() -> RString>,
) -> Result<crate::declare::Declared, String> {
    match f {
        None => Ok(crate::declare::Declared::default()),
        Some(f) => serde_json::from_str(f().as_str())
            .map_err(|e| format!("plugin declaration is not valid: {e}")),
    }
}

impl RootModule for VenueModuleRef {
    declare_root_module_statics! {VenueModuleRef}
    const BASE_NAME: &'static str = "polymix_venue";
    const NAME: &'static str = "polymix-venue";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

#[derive(Serialize, Deserialize)]
struct BeginArgs {
    op: VenueOp,
    ctx: CallCtx,
}

/// [`BeginArgs`] as the host writes it, borrowing the operation.
#[cfg(any(test, feature = "host"))]
#[derive(Serialize)]
struct BeginArgsRef<'a> {
    op: &'a VenueOp,
    ctx: CallCtx,
}

/// The arguments of a risk `check` as the host writes them, borrowing both.
#[cfg(any(test, feature = "host"))]
#[derive(Serialize)]
struct CheckArgsRef<'a> {
    snapshot: &'a RiskSnapshot,
    proposal: &'a RiskProposal,
}

struct VenueShim<T> {
    inner: T,
    instance: Arc<str>,
}

impl<T: Venue> VenueShim<T> {
    fn dispatch(&self, method: &str, input: FfiFrame) -> PluginResult<FfiFrame> {
        match method {
            "info" => to_json(&self.inner.info()).map(FfiFrame::head),
            "begin" => {
                let a: BeginArgs = from_json("begin", input.head.as_str())?;
                venue_wire::encode_step(self.inner.begin(a.op, a.ctx)?)
            }
            "resume" => {
                let (state, response, ctx) = venue_wire::decode_resume(input)?;
                venue_wire::encode_step(self.inner.resume(state, response, ctx)?)
            }
            "poll_events" => {
                let ctx: CallCtx = from_json("poll_events", input.head.as_str())?;
                to_json(&self.inner.poll_events(ctx)?).map(FfiFrame::head)
            }
            // The (de)serialisation is in non-generic functions of this crate, so a plugin's
            // root module instantiates no serde code of its own for them: a shared generic in
            // the root module's object would make every test binary that links two plugin
            // rlibs pull both root modules (duplicate loader symbol).
            "stream_spec" => {
                let (channel, ctx) = stream_wire::decode_args("stream_spec", &input.head)?;
                stream_wire::encode_spec(&self.inner.stream_spec(channel, ctx)?)
            }
            "stream_messages" => {
                let r = stream_wire::decode_request(&input.head)?;
                stream_wire::encode_messages(&self.inner.stream_messages(r)?)
            }
            "stream_parse" => {
                // The frame travels as raw bytes beside the head, never escaped into JSON.
                let (channel, ctx) = stream_wire::decode_args("stream_parse", &input.head)?;
                let text = stream_wire::frame_text(&input.body)?;
                stream_wire::encode_frame(&self.inner.stream_parse(channel, text, ctx)?)
            }
            other => Err(PluginError::unsupported(other)),
        }
    }
}

impl<T: Venue> FfiVenue for VenueShim<T> {
    fn call(&self, method: RStr<'_>, input: FfiFrame) -> RResult<FfiFrame, FfiError> {
        let r = with_instance(&self.instance, || {
            guard(method.as_str(), || self.dispatch(method.as_str(), input))
        });
        rresult(r)
    }

    fn next_event_ms(&self) -> ROption<i64> {
        let r = with_instance(&self.instance, || {
            guard("next_event_ms", || Ok(self.inner.next_event_ms()))
        });
        match r {
            Ok(v) => v.into(),
            Err(_) => ROption::RNone,
        }
    }
}

fn secrets_from(v: RVec<Tuple2<RString, RString>>) -> Secrets {
    let mut s = Secrets::new();
    for Tuple2(k, val) in v {
        s.insert(k.into_string(), Secret::new(val.into_string()));
    }
    s
}

/// Builds a venue instance from FFI arguments. Used by [`crate::export_venue!`].
#[doc(hidden)]
pub fn create_venue<T: Venue>(
    instance: RStr<'_>,
    settings: RStr<'_>,
    secrets: RVec<Tuple2<RString, RString>>,
) -> RResult<FfiVenueBox, FfiError> {
    let name: Arc<str> = Arc::from(instance.as_str());
    let r = with_instance(&name, || {
        guard("create", || {
            let settings = from_json("settings", settings.as_str())?;
            let inner = T::create(VenueConfig {
                instance: name.to_string(),
                settings,
                secrets: secrets_from(secrets),
            })?;
            Ok(FfiVenue_TO::from_value(
                VenueShim {
                    inner,
                    instance: name.clone(),
                },
                TD_Opaque,
            ))
        })
    });
    rresult(r)
}

/// Typed host-side handle to a venue instance (FFI or in-process, same path).
#[cfg(any(test, feature = "host"))]
pub struct VenueHandle {
    obj: FfiVenueBox,
}

#[cfg(any(test, feature = "host"))]
impl VenueHandle {
    /// Creates an instance through a loaded root module.
    pub fn create(
        module: VenueModuleRef,
        instance: &str,
        settings: &serde_json::Value,
        secrets: &Secrets,
    ) -> PluginResult<VenueHandle> {
        let settings = to_json(settings)?;
        let secrets: RVec<Tuple2<RString, RString>> = secrets
            .iter()
            .map(|(k, v)| Tuple2(RString::from(k), RString::from(v.expose())))
            .collect();
        let obj = (module.create())(RStr::from_str(instance), settings.as_rstr(), secrets)
            .into_result()
            .map_err(PluginError::from)?;
        Ok(VenueHandle { obj })
    }

    /// Creates an in-process instance of `T` through the same FFI shim (tests, benches).
    pub fn in_process<T: Venue>(
        instance: &str,
        settings: &serde_json::Value,
        secrets: &Secrets,
    ) -> PluginResult<VenueHandle> {
        let settings = to_json(settings)?;
        let secrets: RVec<Tuple2<RString, RString>> = secrets
            .iter()
            .map(|(k, v)| Tuple2(RString::from(k), RString::from(v.expose())))
            .collect();
        let obj = create_venue::<T>(RStr::from_str(instance), settings.as_rstr(), secrets)
            .into_result()
            .map_err(PluginError::from)?;
        Ok(VenueHandle { obj })
    }

    fn call_frame(&self, method: &str, input: FfiFrame) -> PluginResult<FfiFrame> {
        self.obj
            .call(RStr::from_str(method), input)
            .into_result()
            .map_err(PluginError::from)
    }

    fn call<T: DeserializeOwned>(&self, method: &str, input: &str) -> PluginResult<T> {
        let out = self.call_frame(method, FfiFrame::head(RString::from(input)))?;
        from_json(method, out.head.as_str())
    }

    /// Plugin metadata.
    pub fn info(&self) -> PluginResult<VenueInfo> {
        self.call("info", "null")
    }

    /// Starts an operation.
    pub fn begin(&self, op: &VenueOp, ctx: CallCtx) -> PluginResult<Step> {
        let args = to_json(&BeginArgsRef { op, ctx })?;
        let out = self.call_frame("begin", FfiFrame::head(args))?;
        venue_wire::decode_step("begin", out)
    }

    /// Continues an operation with a response.
    pub fn resume(
        &self,
        state: String,
        response: HttpResponse,
        ctx: CallCtx,
    ) -> PluginResult<Step> {
        let out = self.call_frame("resume", venue_wire::encode_resume(state, response, ctx)?)?;
        venue_wire::decode_step("resume", out)
    }

    /// Events due by `ctx.now_ms`.
    pub fn poll_events(&self, ctx: CallCtx) -> PluginResult<Vec<VenueEvent>> {
        let args = to_json(&ctx)?;
        self.call("poll_events", args.as_str())
    }

    /// How to connect to a stream. A plugin without streams answers
    /// [`ErrorKind::Unsupported`].
    pub fn stream_spec(&self, channel: StreamChannel, ctx: CallCtx) -> PluginResult<StreamSpec> {
        let out = self.call_frame(
            "stream_spec",
            FfiFrame::head(stream_wire::encode_args(channel, ctx)?),
        )?;
        from_json("stream_spec", out.head.as_str())
    }

    /// The messages that carry out a subscribe or unsubscribe request.
    pub fn stream_messages(&self, request: &StreamRequest) -> PluginResult<Vec<String>> {
        let args = to_json(request)?;
        self.call("stream_messages", args.as_str())
    }

    /// One received text frame as typed events.
    pub fn stream_parse(
        &self,
        channel: StreamChannel,
        frame: &str,
        ctx: CallCtx,
    ) -> PluginResult<StreamFrame> {
        let input = FfiFrame {
            head: stream_wire::encode_args(channel, ctx)?,
            state: RVec::new(),
            body: RVec::from(frame.as_bytes().to_vec()),
        };
        let out = self.call_frame("stream_parse", input)?;
        from_json("stream_parse", out.head.as_str())
    }

    /// When the next scheduled event is due.
    pub fn next_event_ms(&self) -> Option<i64> {
        self.obj.next_event_ms().into_option()
    }

    /// Runs an operation that needs no I/O to completion (simulators), refusing HTTP steps.
    pub fn run_local(&self, op: &VenueOp, ctx: CallCtx) -> PluginResult<OpResult> {
        let mut step = self.begin(op, ctx)?;
        loop {
            match step {
                Step::Done { result } => return Ok(result),
                Step::Wait { state, .. } => {
                    step = self.resume(
                        state,
                        HttpResponse {
                            status: 0,
                            headers: vec![],
                            body: vec![],
                        },
                        ctx,
                    )?;
                }
                Step::Http { .. } => {
                    return Err(PluginError::new(
                        ErrorKind::Internal,
                        "run_local: the venue asked for network I/O",
                    ))
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Strategy

/// One pair's books and context in a strategy batch.
#[repr(C)]
#[derive(StableAbi, Clone, Copy)]
pub struct FfiPairBooks<'a> {
    /// Pair index.
    pub pair: u32,
    /// Context for this pair.
    pub ctx: EvalCtx,
    /// Asks for P on A.
    pub a_yes: RSlice<'a, Level>,
    /// Asks for not-P on A.
    pub a_no: RSlice<'a, Level>,
    /// Asks for P on B.
    pub b_yes: RSlice<'a, Level>,
    /// Asks for not-P on B.
    pub b_no: RSlice<'a, Level>,
}

/// Strategy trait object across the boundary.
#[sabi_trait]
pub trait FfiStrategy: Send + Sync {
    /// JSON [`crate::PluginInfo`].
    fn info(&self) -> RResult<RString, FfiError>;

    /// Evaluates a batch of pairs, appending proposals to `out`.
    #[sabi(last_prefix_field)]
    fn evaluate(
        &self,
        batch: RSlice<'_, FfiPairBooks<'_>>,
        out: &mut RVec<Proposal>,
    ) -> RResult<(), FfiError>;
}

/// Owned strategy trait object.
pub type FfiStrategyBox = FfiStrategy_TO<'static, RBox<()>>;

/// Root module of a strategy plugin.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = StrategyModuleRef)))]
pub struct StrategyModule {
    /// Hands the plugin the host's log sink.
    pub set_log_sink: extern "C" fn(LogSink),
    /// Creates an instance: name, settings JSON, pairs JSON.
    #[sabi(last_prefix_field)]
    pub create: extern "C" fn(RStr<'_>, RStr<'_>, RStr<'_>) -> RResult<FfiStrategyBox, FfiError>,
    /// What the plugin declares ([`crate::declare::Declaration`] as JSON). After the last
    /// prefix field: a plugin built before declarations existed has none, and declares nothing.
    pub declaration: extern "C" fn() -> RString,
}

impl RootModule for StrategyModuleRef {
    declare_root_module_statics! {StrategyModuleRef}
    const BASE_NAME: &'static str = "polymix_strategy";
    const NAME: &'static str = "polymix-strategy";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

thread_local! {
    // Reused across calls so evaluation allocates nothing when nothing is proposed.
    static SCRATCH: std::cell::RefCell<Vec<Proposal>> = const { std::cell::RefCell::new(Vec::new()) };
}

struct StrategyShim<T> {
    inner: T,
    instance: Arc<str>,
}

impl<T: Strategy> FfiStrategy for StrategyShim<T> {
    fn info(&self) -> RResult<RString, FfiError> {
        rresult(with_instance(&self.instance, || {
            guard("info", || to_json(&self.inner.info()))
        }))
    }

    fn evaluate(
        &self,
        batch: RSlice<'_, FfiPairBooks<'_>>,
        out: &mut RVec<Proposal>,
    ) -> RResult<(), FfiError> {
        // The hot path: a bare `catch_unwind` around a closure returning `()` keeps the large
        // `PluginResult` out of the common case; the error is only built after a panic.
        let run = || {
            SCRATCH.with(|cell| {
                let mut scratch = cell.borrow_mut();
                scratch.clear();
                for item in batch.iter() {
                    let books = PairBooks {
                        a_yes: item.a_yes.as_slice(),
                        a_no: item.a_no.as_slice(),
                        b_yes: item.b_yes.as_slice(),
                        b_no: item.b_no.as_slice(),
                    };
                    self.inner
                        .evaluate(item.pair, &books, &item.ctx, &mut scratch);
                }
                if !scratch.is_empty() {
                    out.extend(scratch.iter().copied());
                }
            })
        };
        let r = with_instance(&self.instance, || catch_unwind(AssertUnwindSafe(run)));
        match r {
            Ok(()) => RResult::ROk(()),
            Err(payload) => {
                let r: PluginResult<()> = guard("evaluate", || std::panic::resume_unwind(payload));
                rresult(r)
            }
        }
    }
}

/// Builds a strategy instance from FFI arguments. Used by [`crate::export_strategy!`].
#[doc(hidden)]
pub fn create_strategy<T: Strategy>(
    instance: RStr<'_>,
    settings: RStr<'_>,
    pairs: RStr<'_>,
) -> RResult<FfiStrategyBox, FfiError> {
    let name: Arc<str> = Arc::from(instance.as_str());
    rresult(with_instance(&name, || {
        guard("create", || {
            let settings = from_json("settings", settings.as_str())?;
            let pairs: Vec<PairSpec> = from_json("pairs", pairs.as_str())?;
            let inner = T::create(StrategyConfig {
                instance: name.to_string(),
                settings,
                pairs,
            })?;
            Ok(FfiStrategy_TO::from_value(
                StrategyShim {
                    inner,
                    instance: name.clone(),
                },
                TD_Opaque,
            ))
        })
    }))
}

/// Typed host-side handle to a strategy instance.
#[cfg(any(test, feature = "host"))]
pub struct StrategyHandle {
    obj: FfiStrategyBox,
}

#[cfg(any(test, feature = "host"))]
impl StrategyHandle {
    /// Creates an instance through a loaded root module.
    pub fn create(
        module: StrategyModuleRef,
        instance: &str,
        settings: &serde_json::Value,
        pairs: &[PairSpec],
    ) -> PluginResult<StrategyHandle> {
        let s = to_json(settings)?;
        let p = to_json(&pairs)?;
        let obj = (module.create())(RStr::from_str(instance), s.as_rstr(), p.as_rstr())
            .into_result()
            .map_err(PluginError::from)?;
        Ok(StrategyHandle { obj })
    }

    /// Creates an in-process instance of `T` through the same shim.
    pub fn in_process<T: Strategy>(
        instance: &str,
        settings: &serde_json::Value,
        pairs: &[PairSpec],
    ) -> PluginResult<StrategyHandle> {
        let s = to_json(settings)?;
        let p = to_json(&pairs)?;
        let obj = create_strategy::<T>(RStr::from_str(instance), s.as_rstr(), p.as_rstr())
            .into_result()
            .map_err(PluginError::from)?;
        Ok(StrategyHandle { obj })
    }

    /// Plugin metadata.
    pub fn info(&self) -> PluginResult<PluginInfo> {
        let s = self.obj.info().into_result().map_err(PluginError::from)?;
        from_json("info", s.as_str())
    }

    /// Evaluates a batch, appending proposals to `out`.
    pub fn evaluate(
        &self,
        batch: &[FfiPairBooks<'_>],
        out: &mut RVec<Proposal>,
    ) -> PluginResult<()> {
        self.obj
            .evaluate(RSlice::from_slice(batch), out)
            .into_result()
            .map_err(PluginError::from)
    }
}

// ---------------------------------------------------------------------------------------------
// Risk

/// Risk policy trait object across the boundary.
#[sabi_trait]
pub trait FfiRisk: Send + Sync {
    /// JSON [`crate::PluginInfo`].
    fn info(&self) -> RResult<RString, FfiError>;

    /// JSON `{snapshot, proposal}` in, JSON [`crate::RiskDecision`] out.
    #[sabi(last_prefix_field)]
    fn check(&self, input: RStr<'_>) -> RResult<RString, FfiError>;
}

/// Owned risk trait object.
pub type FfiRiskBox = FfiRisk_TO<'static, RBox<()>>;

/// Root module of a risk plugin.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = RiskModuleRef)))]
pub struct RiskModule {
    /// Hands the plugin the host's log sink.
    pub set_log_sink: extern "C" fn(LogSink),
    /// Creates an instance: name, settings JSON.
    #[sabi(last_prefix_field)]
    pub create: extern "C" fn(RStr<'_>, RStr<'_>) -> RResult<FfiRiskBox, FfiError>,
    /// What the plugin declares ([`crate::declare::Declaration`] as JSON). After the last
    /// prefix field: a plugin built before declarations existed has none, and declares nothing.
    pub declaration: extern "C" fn() -> RString,
}

impl RootModule for RiskModuleRef {
    declare_root_module_statics! {RiskModuleRef}
    const BASE_NAME: &'static str = "polymix_risk";
    const NAME: &'static str = "polymix-risk";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

#[derive(Serialize, Deserialize)]
struct CheckArgs {
    snapshot: RiskSnapshot,
    proposal: RiskProposal,
}

struct RiskShim<T> {
    inner: T,
    instance: Arc<str>,
}

impl<T: RiskPolicy> FfiRisk for RiskShim<T> {
    fn info(&self) -> RResult<RString, FfiError> {
        rresult(with_instance(&self.instance, || {
            guard("info", || to_json(&self.inner.info()))
        }))
    }

    fn check(&self, input: RStr<'_>) -> RResult<RString, FfiError> {
        rresult(with_instance(&self.instance, || {
            guard("check", || {
                let a: CheckArgs = from_json("check", input.as_str())?;
                to_json(&self.inner.check(&a.snapshot, &a.proposal))
            })
        }))
    }
}

/// Builds a risk instance from FFI arguments. Used by [`crate::export_risk!`].
#[doc(hidden)]
pub fn create_risk<T: RiskPolicy>(
    instance: RStr<'_>,
    settings: RStr<'_>,
) -> RResult<FfiRiskBox, FfiError> {
    let name: Arc<str> = Arc::from(instance.as_str());
    rresult(with_instance(&name, || {
        guard("create", || {
            let settings = from_json("settings", settings.as_str())?;
            let inner = T::create(&name, settings)?;
            Ok(FfiRisk_TO::from_value(
                RiskShim {
                    inner,
                    instance: name.clone(),
                },
                TD_Opaque,
            ))
        })
    }))
}

/// Typed host-side handle to a risk instance.
#[cfg(any(test, feature = "host"))]
pub struct RiskHandle {
    obj: FfiRiskBox,
}

#[cfg(any(test, feature = "host"))]
impl RiskHandle {
    /// Creates an instance through a loaded root module.
    pub fn create(
        module: RiskModuleRef,
        instance: &str,
        settings: &serde_json::Value,
    ) -> PluginResult<RiskHandle> {
        let s = to_json(settings)?;
        let obj = (module.create())(RStr::from_str(instance), s.as_rstr())
            .into_result()
            .map_err(PluginError::from)?;
        Ok(RiskHandle { obj })
    }

    /// Creates an in-process instance of `T` through the same shim.
    pub fn in_process<T: RiskPolicy>(
        instance: &str,
        settings: &serde_json::Value,
    ) -> PluginResult<RiskHandle> {
        let s = to_json(settings)?;
        let obj = create_risk::<T>(RStr::from_str(instance), s.as_rstr())
            .into_result()
            .map_err(PluginError::from)?;
        Ok(RiskHandle { obj })
    }

    /// Plugin metadata.
    pub fn info(&self) -> PluginResult<PluginInfo> {
        let s = self.obj.info().into_result().map_err(PluginError::from)?;
        from_json("info", s.as_str())
    }

    /// Judges one proposal.
    pub fn check(
        &self,
        snapshot: &RiskSnapshot,
        proposal: &RiskProposal,
    ) -> PluginResult<RiskDecision> {
        // Written straight from the borrowed values (no `serde_json::Value` tree in between):
        // this call is on the way to the wire.
        let args = to_json(&CheckArgsRef { snapshot, proposal })?;
        let out = self
            .obj
            .check(RStr::from_str(&args))
            .into_result()
            .map_err(PluginError::from)?;
        from_json("check", out.as_str())
    }
}

#[cfg(test)]
mod fee_schedule_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PluginInfo;

    struct Boom;

    impl Strategy for Boom {
        fn create(_: StrategyConfig) -> PluginResult<Self> {
            Ok(Boom)
        }
        fn info(&self) -> PluginInfo {
            PluginInfo {
                name: "boom".into(),
                version: "0".into(),
            }
        }
        fn evaluate(&self, pair: u32, _: &PairBooks<'_>, _: &EvalCtx, _: &mut Vec<Proposal>) {
            if pair == 7 {
                panic!("strategy exploded on pair 7");
            }
        }
    }

    #[test]
    fn a_panicking_strategy_returns_a_panic_error() {
        let h = StrategyHandle::in_process::<Boom>("b", &serde_json::json!({}), &[]).unwrap();
        let empty: &[Level] = &[];
        let item = |pair| FfiPairBooks {
            pair,
            ctx: EvalCtx {
                now_ms: 0,
                available_a: crate::Usd::ZERO,
                available_b: crate::Usd::ZERO,
            },
            a_yes: empty.into(),
            a_no: empty.into(),
            b_yes: empty.into(),
            b_no: empty.into(),
        };
        let mut out = RVec::new();
        assert!(h.evaluate(&[item(1)], &mut out).is_ok());
        let e = h.evaluate(&[item(7)], &mut out).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Panic);
        assert!(e.message.contains("exploded on pair 7"), "{e}");
        // The instance still answers afterwards (the host decides whether to disable it).
        assert!(h.evaluate(&[item(1)], &mut out).is_ok());
    }
}
