//! Shared helpers: where the built plugins are, temporary configs, a log capture.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// `target/<profile>` of this test binary.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let deps = exe.parent().expect("deps dir");
    deps.parent().expect("profile dir").to_path_buf()
}

/// Directories holding the workspace plugins (deps/) and the test-only plugins (examples/).
pub fn plugin_dirs_toml() -> String {
    let p = profile_dir();
    format!(
        "[plugins]\ndirs = [{:?}, {:?}]\ncall_timeout_ms = 500\n",
        p.join("deps").display().to_string(),
        p.join("examples").display().to_string()
    )
}

/// A fresh temporary directory.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "polymix-it-{tag}-{}-{:x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Writes `body` as a config file in a fresh directory and returns its path.
pub fn write_config(tag: &str, body: &str) -> PathBuf {
    let d = temp_dir(tag);
    let p = d.join("polymix.toml");
    std::fs::write(&p, body).expect("write config");
    p
}

/// Loads a config file.
pub fn load(p: &Path) -> polymix_host::config::Config {
    polymix_host::config::load(p).expect("config loads")
}

/// Every log line the process emitted (installed once, globally, so plugin events forwarded
/// from worker threads are seen too).
pub fn captured_logs() -> &'static Mutex<Vec<String>> {
    static LOGS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    static INIT: OnceLock<()> = OnceLock::new();
    let logs = LOGS.get_or_init(|| Mutex::new(Vec::new()));
    INIT.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let sub = tracing_subscriber::registry().with(Capture);
        let _ = tracing::subscriber::set_global_default(sub);
    });
    logs
}

struct Capture;

struct Text(String);

impl tracing::field::Visit for Text {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push_str(&format!(" {}={}", field.name(), value));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, e: &tracing::Event<'_>, _c: tracing_subscriber::layer::Context<'_, S>) {
        let mut t = Text(format!(
            "{} {}",
            e.metadata().level(),
            e.metadata().target()
        ));
        e.record(&mut t);
        if let Some(l) = LOGS_REF.get() {
            l.lock().unwrap_or_else(|p| p.into_inner()).push(t.0);
        }
    }
}

static LOGS_REF: OnceLock<&'static Mutex<Vec<String>>> = OnceLock::new();

/// Installs the capture and returns the log.
pub fn logs() -> &'static Mutex<Vec<String>> {
    let l = captured_logs();
    let _ = LOGS_REF.set(l);
    l
}

/// The `polymix` binary of this build (`cargo test --workspace` builds it).
pub fn polymix_bin() -> PathBuf {
    let p = profile_dir().join(format!("polymix{}", std::env::consts::EXE_SUFFIX));
    assert!(
        p.is_file(),
        "the polymix binary is not at {} — build it first (`cargo build -p polymix-host --bin polymix` \
         with the same profile and target dir, or run `cargo test --workspace`)",
        p.display()
    );
    p
}

/// A webhook receiver on 127.0.0.1 (`POST /hook`): its address and every JSON body it got, in
/// order.
pub async fn webhook_receiver() -> (
    std::net::SocketAddr,
    std::sync::Arc<Mutex<Vec<serde_json::Value>>>,
) {
    use axum::routing::post;
    use axum::{Json, Router};
    let got: std::sync::Arc<Mutex<Vec<serde_json::Value>>> = Default::default();
    let g2 = got.clone();
    let app = Router::new().route(
        "/hook",
        post(move |Json(v): Json<serde_json::Value>| {
            let g = g2.clone();
            async move {
                g.lock().unwrap_or_else(|p| p.into_inner()).push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the webhook receiver");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, got)
}
