//! The connector's HTTP calls, sans-IO (docs/protocol.md, "HTTP calls to the connector"):
//! `POST /relay/provision`, `POST /relay/policy`, `POST /relay/enroll`, the
//! media plane (`POST /relay/media`, `GET /relay/media/{id}`), and the
//! identity token (an OAuth2 client-credentials grant or an ambient
//! endpoint).
//!
//! Nothing here performs I/O. Builders return an [`HttpRequest`] for a
//! driver to execute (with [`HTTP_TIMEOUT`]); parsers take the response's
//! status and body. The request and response bodies are public serde types
//! so the connector side can parse and produce the very same shapes.
//!
//! A driver that follows redirects must drop the `Authorization` header
//! whenever [`may_forward_authorization`] says no.

mod credentials;
mod enroll;
mod env_file;
mod idp;
mod media;
mod policy;
mod provision;
mod redirect;
mod request;

pub use credentials::{IssuedCredentials, ResolvedCredentials};
pub use enroll::{
    EnrollRequestBody, EnrollResponseBody, enroll_env_vars, enroll_request, parse_enroll_response,
};
pub use env_file::render_env_file;
pub use idp::{
    IDENTITY_TOKEN_MAX_BYTES, idp_token_request, parse_ambient_token_response,
    parse_identity_token_response, parse_idp_token_response,
};
pub use media::{
    MEDIA_FILENAME_MAX_CHARS, MEDIA_MAX_BYTES, MEDIA_TIMEOUT, MediaObject, MediaRef,
    check_download_length, check_upload_size, disposition_file_name, is_connector_media_url,
    media_download_request, media_upload_request, parse_media_download,
    parse_media_upload_response, safe_file_name,
};
pub use policy::{
    PolicyBody, parse_policy_response, policy_for, policy_request, policy_request_for,
    project_relevance_policy, relevance_policies,
};
pub use provision::{
    ProvisionOutcome, ProvisionRequestBody, ProvisionResponseBody, ProvisionSummary,
    merge_provision_outcomes, parse_provision_response, provision_body, provision_request,
    provision_requests,
};
pub use redirect::{may_forward_authorization, resolve_redirect};
pub use request::{ErrorBody, HTTP_TIMEOUT, HttpCallError, HttpMethod, HttpRequest};
