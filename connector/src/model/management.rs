//! The management HTTP routes: `POST /relay/provision`, `/relay/enroll` and
//! `/relay/policy`, as pure request → response functions.
//!
//! Identity bearers (what provision and enroll are authenticated with) are
//! registered with [`Connector::add_identity`]. While none is registered, any
//! non-empty bearer is accepted as an identity of [`DEFAULT_TENANT`].

use serde::{Deserialize, Serialize};

// Request bodies are the client's own types: one definition of the wire shape.
use relay_core::calls::{
    EnrollRequestBody as EnrollBody, PolicyBody, ProvisionRequestBody as ProvisionBody,
};

use super::connector::{Connector, bump};
use super::records::{DEFAULT_TENANT, PolicyRecord, ProvisionRecord};
use super::sessions::{Refusal, bearer_token};
use relay_core::rng::Rng;
use relay_core::time::UnixTime;

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

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

/// The credentials provision and enroll answer with; enroll's carry no
/// route keys.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CredentialsReply<'a> {
    secret: &'a str,
    delivery_key: &'a str,
    tenant: &'a str,
    gateway_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    route_keys: Option<&'a [String]>,
}

#[derive(Serialize)]
struct OkReply {
    ok: bool,
}

/// A request body, or the 400 to answer.
fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, HttpResponse> {
    serde_json::from_slice(body)
        .map_err(|e| HttpResponse::error(400, &format!("invalid body: {e}")))
}

fn hex_secret(rng: &mut Rng) -> String {
    (0..4).map(|_| format!("{:016x}", rng.next_u64())).collect()
}

impl Connector {
    /// Registers an identity bearer (what provision and enroll expect) for
    /// `tenant`.
    pub fn add_identity(&mut self, bearer: &str, tenant: &str) {
        self.management
            .identities
            .insert(bearer.to_owned(), tenant.to_owned());
    }

    /// Registers a single-use enrollment token for `tenant`.
    pub fn add_enrollment_token(&mut self, token: &str, tenant: &str) {
        self.management
            .enrollment
            .insert(token.to_owned(), (tenant.to_owned(), false));
    }

    /// What provision or enroll issued for `gateway_id`.
    pub fn provision_record(&self, gateway_id: &str) -> Option<&ProvisionRecord> {
        self.management.records.get(gateway_id)
    }

    /// The policy `gateway_id` declared for `platform`.
    pub fn policy(&self, gateway_id: &str, platform: &str) -> Option<&PolicyRecord> {
        self.management
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
            return self.count(Err(HttpResponse::error(404, "not found")));
        }
        if !method.eq_ignore_ascii_case("POST") {
            return self.count(Err(HttpResponse::error(405, "method not allowed")));
        }
        match path {
            "/relay/provision" => self.handle_provision(authorization, body),
            "/relay/enroll" => self.handle_enroll(authorization, body),
            _ => self.handle_policy(authorization, body, wall),
        }
    }

    /// Counts `r` as answered well or not, and returns it.
    fn count(&mut self, r: Result<HttpResponse, HttpResponse>) -> HttpResponse {
        let r = r.unwrap_or_else(|error| error);
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
        if self.management.identities.is_empty() {
            return Ok(DEFAULT_TENANT.to_owned());
        }
        self.management
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
        if let Some(r) = self.management.records.get(gateway_id) {
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

    /// Keeps `record` and answers with its credentials (and `route_keys`,
    /// for provision).
    fn issue(&mut self, record: ProvisionRecord, with_route_keys: bool) -> HttpResponse {
        let reply = HttpResponse::json(
            200,
            &CredentialsReply {
                secret: &record.secret,
                delivery_key: &record.delivery_key,
                tenant: &record.tenant,
                gateway_id: &record.gateway_id,
                route_keys: with_route_keys.then_some(record.route_keys.as_slice()),
            },
        );
        self.management
            .records
            .insert(record.gateway_id.clone(), record);
        reply
    }

    /// `POST /relay/provision`: issues (or returns the existing) secret and
    /// delivery key for a gateway, registers it and its wake URL.
    pub fn handle_provision(&mut self, authorization: Option<&str>, body: &[u8]) -> HttpResponse {
        let r = self.provision(authorization, body);
        self.count(r)
    }

    fn provision(
        &mut self,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<HttpResponse, HttpResponse> {
        let tenant = self.identity(authorization)?;
        let req: ProvisionBody = parse(body)?;
        let mut record = self.record_for(&req.gateway_id, &tenant)?;
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
        Ok(self.issue(record, true))
    }

    /// `POST /relay/enroll`: redeems a single-use enrollment token for a
    /// gateway's credentials (401 without a verified identity, 403 for an
    /// invalid, used or foreign token).
    pub fn handle_enroll(&mut self, authorization: Option<&str>, body: &[u8]) -> HttpResponse {
        let r = self.enroll(authorization, body);
        self.count(r)
    }

    fn enroll(
        &mut self,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<HttpResponse, HttpResponse> {
        let identity_tenant = self.identity(authorization)?;
        let req: EnrollBody = parse(body)?;
        let tenant = match self.management.enrollment.get(&req.enrollment_token) {
            None => return Err(HttpResponse::error(403, "invalid enrollment token")),
            Some((_, true)) => {
                return Err(HttpResponse::error(403, "enrollment token already used"));
            }
            Some((t, false)) => t.clone(),
        };
        if !self.management.identities.is_empty() && tenant != identity_tenant {
            return Err(HttpResponse::error(
                403,
                "enrollment token belongs to another tenant",
            ));
        }
        let record = self.record_for(&req.gateway_id, &tenant)?;
        if let Some(entry) = self.management.enrollment.get_mut(&req.enrollment_token) {
            entry.1 = true;
        }
        Ok(self.issue(record, false))
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
    ) -> Result<HttpResponse, HttpResponse> {
        let gateway = match authorization.map(|a| self.authenticate(a, wall)) {
            None => return Err(HttpResponse::error(401, "unauthorized")),
            Some(Ok(g)) => g,
            Some(Err(Refusal::Revoked)) => return Err(HttpResponse::error(410, "revoked")),
            Some(Err(r)) => return Err(HttpResponse::error(401, r.reason())),
        };
        let req: PolicyBody = parse(body)?;
        let record = PolicyRecord {
            platform: req.platform.clone(),
            require_address: req.require_address,
            free_response_scopes: req.free_response_scopes,
            allow_other_bots: req.allow_other_bots,
        };
        self.management
            .policies
            .insert((gateway, req.platform), record);
        Ok(HttpResponse::json(200, &OkReply { ok: true }))
    }
}
