//! Test-only venue that panics or hangs on demand, and logs, to test the host's guards.
#![allow(non_local_definitions, missing_docs)]

use plugin_api::{
    CallCtx, OpResult, PluginResult, Step, Venue, VenueConfig, VenueInfo, VenueOp, VenueRules,
};

pub struct Misbehaving {
    instance: String,
}

impl Venue for Misbehaving {
    fn create(config: VenueConfig) -> PluginResult<Self> {
        tracing::info!(
            marker = "misbehaving-created",
            "hello from inside the plugin"
        );
        Ok(Misbehaving {
            instance: config.instance,
        })
    }

    fn info(&self) -> VenueInfo {
        VenueInfo {
            name: "misbehaving".into(),
            version: "0.0.1".into(),
            rules: VenueRules::Other,
            simulated: true,
            capabilities: vec!["balance".into()],
            rate_limits: Default::default(),
        }
    }

    fn begin(&self, op: VenueOp, _ctx: CallCtx) -> PluginResult<Step> {
        match op {
            VenueOp::Book { instrument } if instrument == "panic" => {
                panic!("deliberate panic in {}", self.instance)
            }
            VenueOp::Book { instrument } if instrument == "hang" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                unreachable!()
            }
            // A write to the URL given as the instrument, then a `resume` that never returns:
            // the host must still answer the operation (the order's fate unknown).
            VenueOp::Book { instrument } if instrument.starts_with("http://") => Ok(Step::Http {
                request: plugin_api::HttpRequest {
                    method: "POST".into(),
                    url: instrument,
                    headers: vec![],
                    body: b"{}".to_vec(),
                    idempotent: false,
                    rate_class: "write".into(),
                    expected_order_id: None,
                },
                state: "hang-on-resume".into(),
            }),
            VenueOp::Book { instrument } if instrument == "log" => {
                tracing::warn!(marker = "misbehaving-log", "logged during a call");
                Ok(Step::Done {
                    result: OpResult::Balance {
                        balance: plugin_api::Balance {
                            available: plugin_api::Usd::ZERO,
                            total: plugin_api::Usd::ZERO,
                        },
                    },
                })
            }
            _ => Ok(Step::Done {
                result: OpResult::Balance {
                    balance: plugin_api::Balance {
                        available: plugin_api::Usd::dollars(1),
                        total: plugin_api::Usd::dollars(1),
                    },
                },
            }),
        }
    }

    fn resume(
        &self,
        state: String,
        _response: plugin_api::HttpResponse,
        _ctx: CallCtx,
    ) -> PluginResult<Step> {
        if state == "hang-on-resume" {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
        Err(plugin_api::PluginError::unsupported("resume"))
    }
}

plugin_api::export_venue!(Misbehaving);
