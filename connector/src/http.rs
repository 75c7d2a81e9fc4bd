//! The management HTTP routes: `POST /relay/provision`, `/relay/enroll` and
//! `/relay/policy` (PROTOCOL.md part 2 §8), as pure request → response
//! functions.
//!
//! Identity bearers (what provision and enroll are authenticated with) are
//! registered with [`Connector::add_identity`]. While none is registered, any
//! non-empty bearer is accepted as an identity of [`DEFAULT_TENANT`].

use std::collections::BTreeMap;

use serde::Serialize;

// Request bodies are the client's own types: one definition of the wire shape.
use relay_core::calls::{
    EnrollRequestBody as EnrollBody, PolicyBody, ProvisionRequestBody as ProvisionBody,
};

use super::{Connector, Refusal, bearer_token, bump};
use relay_core::rng::Rng;
use relay_core::time::UnixTime;

/// The tenant of identities when no identity bearer is registered.
pub const DEFAULT_TENANT: &str = "default";

/// An HTTP answer: status and JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: String,
}

impl HttpResponse {
    fn json<T: Serialize>(status: u16, value: &T) -> Self {
        HttpResponse {
            status,
            body: serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned()),
        }
    }

    fn error(status: u16, message: &str) -> Self {
        HttpResponse::json(status, &ErrorBody { error: message })
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// What provision (or enroll) issued for one gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvisionRecord {
    /// The gateway id.
    pub gateway_id: String,
    /// Its tenant.
    pub tenant: String,
    /// The upgrade-token secret (64 hex digits).
    pub secret: String,
    /// The delivery-signature key (64 hex digits).
    pub delivery_key: String,
    /// Route keys of the first provision call.
    pub route_keys: Vec<String>,
    /// Legacy inbound endpoint of the first provision call.
    pub gateway_endpoint: String,
    /// `(platform, botId)` of every provision call, in order, deduplicated.
    pub platforms: Vec<(String, String)>,
    /// The gateway's own instance id, when sent (informational: the model's
    /// instance is always the gateway id).
    pub instance_id: Option<String>,
}

/// A relevance policy declared with `POST /relay/policy`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRecord {
    /// The platform.
    pub platform: String,
    /// Only addressed messages are forwarded.
    pub require_address: bool,
    /// Scopes where unaddressed messages are forwarded anyway.
    pub free_response_scopes: Vec<String>,
    /// Messages from other bots are forwarded.
    pub allow_other_bots: bool,
}

#[derive(Debug, Default)]
pub(crate) struct HttpState {
    identities: BTreeMap<String, String>,
    enrollment: BTreeMap<String, (String, bool)>,
    records: BTreeMap<String, ProvisionRecord>,
    policies: BTreeMap<(String, String), PolicyRecord>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProvisionReply<'a> {
    secret: &'a str,
    delivery_key: &'a str,
    tenant: &'a str,
    gateway_id: &'a str,
    route_keys: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnrollReply<'a> {
    secret: &'a str,
    delivery_key: &'a str,
    tenant: &'a str,
    gateway_id: &'a str,
}

#[derive(Serialize)]
struct OkReply {
    ok: bool,
}

fn hex_secret(rng: &mut Rng) -> String {
    (0..4).map(|_| format!("{:016x}", rng.next_u64())).collect()
}

impl Connector {
    /// Registers an identity bearer (what provision and enroll expect) for
    /// `tenant`.
    pub fn add_identity(&mut self, bearer: &str, tenant: &str) {
        self.http
            .identities
            .insert(bearer.to_owned(), tenant.to_owned());
    }

    /// Registers a single-use enrollment token for `tenant`.
    pub fn add_enrollment_token(&mut self, token: &str, tenant: &str) {
        self.http
            .enrollment
            .insert(token.to_owned(), (tenant.to_owned(), false));
    }

    /// What provision or enroll issued for `gateway_id`.
    pub fn provision_record(&self, gateway_id: &str) -> Option<&ProvisionRecord> {
        self.http.records.get(gateway_id)
    }

    /// The policy `gateway_id` declared for `platform`.
    pub fn policy(&self, gateway_id: &str, platform: &str) -> Option<&PolicyRecord> {
        self.http
            .policies
            .get(&(gateway_id.to_owned(), platform.to_owned()))
    }

    /// Routes a management request by method and path (query ignored,
    /// trailing `/` tolerated): 404 for other paths, 405 for other methods.
    pub fn handle_http(
        &mut self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        body: &[u8],
        wall: UnixTime,
    ) -> HttpResponse {
        let path = path.split('?').next().unwrap_or("");
        let path = path.strip_suffix('/').unwrap_or(path);
        let known = matches!(path, "/relay/provision" | "/relay/enroll" | "/relay/policy");
        if !known {
            return self.count(HttpResponse::error(404, "not found"));
        }
        if !method.eq_ignore_ascii_case("POST") {
            return self.count(HttpResponse::error(405, "method not allowed"));
        }
        match path {
            "/relay/provision" => self.handle_provision(authorization, body),
            "/relay/enroll" => self.handle_enroll(authorization, body),
            _ => self.handle_policy(authorization, body, wall),
        }
    }

    fn count(&mut self, r: HttpResponse) -> HttpResponse {
        if r.is_success() {
            bump(&mut self.stats.http_ok);
        } else {
            bump(&mut self.stats.http_errors);
        }
        r
    }

    /// The tenant of an identity bearer, or the 401 to answer.
    fn identity(&self, authorization: Option<&str>) -> Result<String, HttpResponse> {
        let Some(bearer) = authorization.and_then(bearer_token) else {
            return Err(HttpResponse::error(401, "missing identity bearer"));
        };
        if self.http.identities.is_empty() {
            return Ok(DEFAULT_TENANT.to_owned());
        }
        self.http
            .identities
            .get(bearer)
            .cloned()
            .ok_or_else(|| HttpResponse::error(401, "identity not verified"))
    }

    /// The existing record of `gateway_id` in `tenant`, a fresh one, or the
    /// 403 to answer.
    fn record_for(
        &mut self,
        gateway_id: &str,
        tenant: &str,
    ) -> Result<ProvisionRecord, HttpResponse> {
        if gateway_id.is_empty() {
            return Err(HttpResponse::error(400, "gatewayId is empty"));
        }
        if self.revoked.contains(gateway_id) {
            return Err(HttpResponse::error(403, "gateway revoked"));
        }
        if let Some(r) = self.http.records.get(gateway_id) {
            return if r.tenant == tenant {
                Ok(r.clone())
            } else {
                Err(HttpResponse::error(
                    403,
                    "gateway belongs to another tenant",
                ))
            };
        }
        if self
            .gateways
            .get(gateway_id)
            .is_some_and(|g| g.tenant != tenant)
        {
            return Err(HttpResponse::error(
                403,
                "gateway belongs to another tenant",
            ));
        }
        let secret = hex_secret(&mut self.rng);
        let delivery_key = hex_secret(&mut self.rng);
        // The issued secret becomes the primary; earlier ones stay valid.
        let mut secrets = vec![secret.clone()];
        if let Some(g) = self.gateways.get(gateway_id) {
            secrets.extend(g.secrets.iter().cloned());
        }
        let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        self.add_gateway_in_tenant(gateway_id, &refs, tenant);
        Ok(ProvisionRecord {
            gateway_id: gateway_id.to_owned(),
            tenant: tenant.to_owned(),
            secret,
            delivery_key,
            route_keys: Vec::new(),
            gateway_endpoint: String::new(),
            platforms: Vec::new(),
            instance_id: None,
        })
    }

    /// `POST /relay/provision`: issues (or returns the existing) secret and
    /// delivery key for a gateway, registers it and its wake URL.
    pub fn handle_provision(&mut self, authorization: Option<&str>, body: &[u8]) -> HttpResponse {
        let r = self.provision(authorization, body);
        self.count(r)
    }

    fn provision(&mut self, authorization: Option<&str>, body: &[u8]) -> HttpResponse {
        let tenant = match self.identity(authorization) {
            Ok(t) => t,
            Err(r) => return r,
        };
        let req: ProvisionBody = match serde_json::from_slice(body) {
            Ok(b) => b,
            Err(e) => return HttpResponse::error(400, &format!("invalid body: {e}")),
        };
        let mut record = match self.record_for(&req.gateway_id, &tenant) {
            Ok(r) => r,
            Err(r) => return r,
        };
        let fresh = record.platforms.is_empty();
        if fresh {
            record.route_keys = req.route_keys;
            record.gateway_endpoint = req.gateway_endpoint;
        }
        let identity = (req.platform, req.bot_id);
        if !record.platforms.contains(&identity) && record.platforms.len() < 64 {
            record.platforms.push(identity);
        }
        if req.instance_id.is_some() {
            record.instance_id = req.instance_id;
        }
        if let Some(url) = req.wake_url.filter(|u| !u.is_empty()) {
            self.set_wake_url(&req.gateway_id, &url);
        }
        let reply = HttpResponse::json(
            200,
            &ProvisionReply {
                secret: &record.secret,
                delivery_key: &record.delivery_key,
                tenant: &record.tenant,
                gateway_id: &record.gateway_id,
                route_keys: &record.route_keys,
            },
        );
        self.http.records.insert(req.gateway_id, record);
        reply
    }

    /// `POST /relay/enroll`: redeems a single-use enrollment token for a
    /// gateway's credentials (401 without a verified identity, 403 for an
    /// invalid, used or foreign token).
    pub fn handle_enroll(&mut self, authorization: Option<&str>, body: &[u8]) -> HttpResponse {
        let r = self.enroll(authorization, body);
        self.count(r)
    }

    fn enroll(&mut self, authorization: Option<&str>, body: &[u8]) -> HttpResponse {
        let identity_tenant = match self.identity(authorization) {
            Ok(t) => t,
            Err(r) => return r,
        };
        let req: EnrollBody = match serde_json::from_slice(body) {
            Ok(b) => b,
            Err(e) => return HttpResponse::error(400, &format!("invalid body: {e}")),
        };
        let tenant = match self.http.enrollment.get(&req.enrollment_token) {
            None => return HttpResponse::error(403, "invalid enrollment token"),
            Some((_, true)) => return HttpResponse::error(403, "enrollment token already used"),
            Some((t, false)) => t.clone(),
        };
        if !self.http.identities.is_empty() && tenant != identity_tenant {
            return HttpResponse::error(403, "enrollment token belongs to another tenant");
        }
        let record = match self.record_for(&req.gateway_id, &tenant) {
            Ok(r) => r,
            Err(r) => return r,
        };
        if let Some(entry) = self.http.enrollment.get_mut(&req.enrollment_token) {
            entry.1 = true;
        }
        let reply = HttpResponse::json(
            200,
            &EnrollReply {
                secret: &record.secret,
                delivery_key: &record.delivery_key,
                tenant: &record.tenant,
                gateway_id: &record.gateway_id,
            },
        );
        self.http.records.insert(req.gateway_id, record);
        reply
    }

    /// `POST /relay/policy`: stores a gateway's relevance policy for one
    /// platform. The bearer is an upgrade token of that gateway (verified at
    /// `wall`); 401 for a bad or expired one, 410 for a revoked gateway.
    pub fn handle_policy(
        &mut self,
        authorization: Option<&str>,
        body: &[u8],
        wall: UnixTime,
    ) -> HttpResponse {
        let r = self.policy_call(authorization, body, wall);
        self.count(r)
    }

    fn policy_call(
        &mut self,
        authorization: Option<&str>,
        body: &[u8],
        wall: UnixTime,
    ) -> HttpResponse {
        let gateway = match authorization.map(|a| self.authenticate(a, wall)) {
            None => return HttpResponse::error(401, "unauthorized"),
            Some(Ok(g)) => g,
            Some(Err(Refusal::Revoked)) => return HttpResponse::error(410, "revoked"),
            Some(Err(r)) => return HttpResponse::error(401, r.reason()),
        };
        let req: PolicyBody = match serde_json::from_slice(body) {
            Ok(b) => b,
            Err(e) => return HttpResponse::error(400, &format!("invalid body: {e}")),
        };
        let record = PolicyRecord {
            platform: req.platform.clone(),
            require_address: req.require_address,
            free_response_scopes: req.free_response_scopes,
            allow_other_bots: req.allow_other_bots,
        };
        self.http.policies.insert((gateway, req.platform), record);
        HttpResponse::json(200, &OkReply { ok: true })
    }
}
