//! A fake of the Oracle Cloud Infrastructure Compute API (Core Services, version
//! `20160918`, normally at `https://iaas.<region>.oraclecloud.com`), in memory, that
//! checks OCI request signatures for real.
//!
//! # Authentication
//!
//! Every request must be signed with the one configured API key (see [`signature`]):
//! `Authorization: Signature version="1",keyId="TENANCY/USER/FINGERPRINT",
//! algorithm="rsa-sha256",headers="...",signature="..."`. The fake rebuilds the signing
//! string from the request it received, verifies it with the configured RSA public key
//! (PKCS#1 v1.5, SHA-256), requires `date (request-target) host` (plus `content-length
//! content-type x-content-sha256` for POST/PUT/PATCH) to be signed, checks the body
//! against `x-content-sha256` and `content-length`, and refuses dates more than 5 minutes
//! off. Any failure is `401 {"code":"NotAuthenticated","message":"<what was wrong>"}`;
//! [`Running::auth_failures`] lists the reasons. The signing test values published in
//! OCI's documentation are in `tests/vectors/oci-signing` and verified by the unit tests.
//!
//! # Operations
//!
//! | Operation | Request |
//! |---|---|
//! | LaunchInstance | `POST /20160918/instances` (`opc-retry-token`) |
//! | GetInstance | `GET /20160918/instances/{instanceId}` |
//! | ListInstances | `GET /20160918/instances?compartmentId=` (+ `availabilityDomain`, `displayName`, `lifecycleState`, `sortBy`, `sortOrder`, `limit`, `page`) |
//! | TerminateInstance | `DELETE /20160918/instances/{instanceId}` (`preserveBootVolume`, `if-match`) |
//! | ListVnicAttachments | `GET /20160918/vnicAttachments?compartmentId=` (+ `instanceId`, `availabilityDomain`, `vnicId`, `limit`, `page`) |
//! | GetVnicAttachment | `GET /20160918/vnicAttachments/{vnicAttachmentId}` |
//! | GetVnic | `GET /20160918/vnics/{vnicId}` |
//!
//! Answers: 200 with camelCase JSON (`etag` on single resources, `opc-next-page` on lists
//! while more items remain, `opc-work-request-id` on LaunchInstance), 204 for
//! TerminateInstance; errors are `{"code","message"}` with the status and code of OCI's
//! "API Errors" table. Every answer carries `opc-request-id`.
//!
//! # Lifecycle
//!
//! An instance is `PROVISIONING` for [`Options::provision_duration`], then `RUNNING`.
//! TerminateInstance makes it `TERMINATING` for [`Options::terminate_duration`], then
//! `TERMINATED`; terminated instances stay readable and listed for
//! [`Options::terminated_retention`] and are then forgotten (404). The primary VNIC
//! attachment is `ATTACHING` (no `vnicId` yet) while the instance provisions, `ATTACHED`
//! with `vnicId` once it runs, then `DETACHING`/`DETACHED`; the VNIC is `PROVISIONING`,
//! `AVAILABLE` (with `publicIp`), `TERMINATING`, `TERMINATED`. Private IPs come from
//! 10.0.0.0/16 per subnet (from .2), public IPs from the RFC 5737 documentation ranges;
//! both are free again once an instance is terminated.
//!
//! # Retry tokens
//!
//! A LaunchInstance with an `opc-retry-token` (1 to 64 characters) seen before: the same
//! JSON body gives the instance created the first time (not a second one); a different
//! body, or a token whose instance has been forgotten, is `409 InvalidatedRetryToken`.
//! Tokens expire after 24 hours. A launch that failed (injected fault, 400) does not
//! record its token, so a retry creates the instance.
//!
//! # Faults
//!
//! [`Options::fail_next_launches`] / [`Running::fail_next_launches`] answer the next N
//! LaunchInstance with a [`Fault`] (500 `InternalServerError` by default, 503
//! `ServiceUnavailable`, or 429 `TooManyRequests`); [`Running::fail_next_requests`] does
//! so for any authenticated request; [`Options::rate_limit`] answers 429 `TooManyRequests`
//! beyond N requests per second.
//!
//! # Validation of LaunchInstanceDetails
//!
//! Required: `availabilityDomain` (`<prefix>:<NAME>-AD-<n>`), `compartmentId` (a
//! compartment or tenancy OCID), `shape`, `sourceDetails` (`sourceType: "image"` with an
//! image OCID; or the deprecated top-level `imageId`), `createVnicDetails.subnetId` (or the
//! deprecated top-level `subnetId`). Missing: 400 `MissingParameter`; wrong type or value:
//! 400 `InvalidParameter`; a body that is not a JSON object or has a field the reference
//! does not list: 400 `CannotParseRequest`. Shapes: `VM.Standard.A1.Flex`,
//! `VM.Standard.A2.Flex`, `VM.Standard.E4.Flex`, `VM.Standard.E5.Flex`, `VM.Standard3.Flex`
//! (flexible: `shapeConfig.ocpus` or `vcpus` required, whole OCPUs, 1 to 64 GB per OCPU,
//! memory defaulted per shape) and `VM.Standard.E2.1.Micro`, `VM.Standard2.1` (fixed:
//! `shapeConfig` refused). `metadata` values must be strings; `metadata.user_data` must
//! be base64 (whitespace ignored) and is decoded for [`Running::instances`]; `metadata`
//! and `extendedMetadata`, measured as compact JSON, may hold at most 32,000 bytes
//! together — so `user_data` carries at most about 23,990 bytes before encoding.
//! `sourceDetails.bootVolumeSizeInGBs`: 50 to 32,768. `hostnameLabel`: 1 to 63 letters,
//! digits, hyphens, starting with a letter. `faultDomain`: `FAULT-DOMAIN-1..3`.
//! `displayName` defaults to `instance<YYYYMMDDhhmmss>`.
//!
//! # Left out
//!
//! - Operations other than those above: instance actions (START/STOP/RESET...),
//!   UpdateInstance, work requests (the `opc-work-request-id` names nothing readable),
//!   boot volumes, subnets, VCNs, images, availability domains (identity), shapes.
//! - Authentication other than API keys (instance/resource principals, session tokens);
//!   more than one key; the key's fingerprint is not checked against the key (only the
//!   whole `keyId` must equal the configured one).
//! - LaunchInstanceDetails fields accepted but ignored (not stored or echoed):
//!   `agentConfig`, `availabilityConfig`, `capacityReservationId`,
//!   `clusterPlacementGroupId`, `computeClusterId`, `dedicatedVmHostId`,
//!   `instanceConfigurationId`, `instanceOptions`, `ipxeScript`, `isAIEnterpriseEnabled`,
//!   `isPvEncryptionInTransitEnabled`, `launchOptions`, `launchVolumeAttachments`,
//!   `licensingConfigs`, `placementConstraintDetails`, `platformConfig`,
//!   `preemptibleInstanceConfig`, `securityAttributes`; in `shapeConfig`: `nvmes`,
//!   `resourceManagement`, `localVolumeSizeInGBs`; in `sourceDetails`:
//!   `bootVolumeVpusPerGB`, `kmsKeyId`, `instanceSourceImageFilterDetails`; in
//!   `createVnicDetails`: `assignIpv6Ip`, `assignPrivateDnsRecord`,
//!   `ipv6AddressIpv6SubnetCidrPairDetails`, `privateIpId`, `securityAttributes`,
//!   `subnetCidr`, `vlanId`. `sourceType: "bootVolume"` is refused.
//! - Not checked: that compartments, subnets, images, NSGs, tag namespaces exist; image
//!   and shape compatibility; service limits and quotas; tag count and length limits;
//!   `hostnameLabel` and `privateIp` uniqueness in the subnet; whether the availability
//!   domain belongs to the region.
//! - Instance fields not returned: `capacityReservationId`, `clusterPlacementGroupId`,
//!   `dedicatedVmHostId`, `ipxeScript`, `preemptibleInstanceConfig`, `platformConfig`,
//!   `instanceConfigurationId`, `licensingConfigs`, `placementConstraintDetails`,
//!   `isAIEnterpriseEnabled`, `securityAttributes`, `securityAttributesState`,
//!   `timeMaintenanceRebootDue`; `shapeConfig` omits `gpuDescription`,
//!   `localDiskDescription`, `localDisksTotalSizeInGBs`, `resourceManagement`,
//!   `localVolumeSizeInGBs`. VnicAttachment omits `vlanId`; Vnic omits `vlanId`,
//!   `routeTableId`, `securityAttributes` (and has no IPv6).
//! - Unknown-field rejection (`CannotParseRequest`) and the exact messages are the fake's
//!   choices; OCI does not document them. So are: TerminateInstance on an instance that is
//!   already terminating or terminated answers 204 and changes nothing; the default page
//!   size (100, at most 1000); ListInstances' default order (newest first, as for
//!   `sortBy=TIMECREATED`).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use fakecloud::oci::{FakeOci, Options};
//! let pem = std::fs::read_to_string("tests/vectors/oci-signing/public_key.pem")?;
//! let key_id = "ocid1.tenancy.oc1..aaaa/ocid1.user.oc1..bbbb/73:61:a2:21:67:e0:df:be:7e:4b:93:1e:15:98:a5:b7";
//! let fake = FakeOci::start("127.0.0.1:0".parse().unwrap(), key_id, &pem, Options::default()).await?;
//! let endpoint = fake.base_url(); // the SDK's service endpoint; it appends /20160918
//! // ... drive the code under test against `endpoint` ...
//! assert!(fake.instances().is_empty());
//! fake.stop().await;
//! # Ok(()) }
//! ```

mod catalog;
pub mod cli;
mod errors;
mod handlers;
mod launch;
mod model;
mod query;
pub mod signature;
mod state;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use errors::Fault;
pub use model::InstanceRecord;
pub use signature::{Signer, Verifier};

use state::Shared;

/// How the fake behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The region the fake pretends to be (OCIDs and `Instance.region` follow it).
    /// Default: `us-ashburn-1`.
    pub region: String,
    /// How long a new instance is PROVISIONING before it is RUNNING. Default: 1 s.
    pub provision_duration: Duration,
    /// How long a terminated instance is TERMINATING before it is TERMINATED. Default: 1 s.
    pub terminate_duration: Duration,
    /// How long a TERMINATED instance stays readable and listed. Default: 1 hour.
    pub terminated_retention: Duration,
    /// The next this-many LaunchInstance answer [`Options::launch_fault`].
    pub fail_next_launches: u32,
    /// The failure injected by `fail_next_launches`. Default: 500 InternalServerError.
    pub launch_fault: Fault,
    /// Requests per second (bursts of as many allowed) before 429 TooManyRequests;
    /// `None`: no limit.
    pub rate_limit: Option<u32>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            region: "us-ashburn-1".to_string(),
            provision_duration: Duration::from_secs(1),
            terminate_duration: Duration::from_secs(1),
            terminated_retention: Duration::from_secs(3600),
            fail_next_launches: 0,
            launch_fault: Fault::InternalServerError,
            rate_limit: None,
        }
    }
}

/// Starts fakes of the OCI Compute API.
#[derive(Debug, Clone, Copy, Default)]
pub struct FakeOci;

impl FakeOci {
    /// Binds `addr` (port 0 picks a free port) and serves the fake over plain HTTP on the
    /// current tokio runtime until [`Running::stop`] is called or the [`Running`] is
    /// dropped. Requests must be signed with the key `key_id`
    /// (`TENANCY_OCID/USER_OCID/FINGERPRINT`) whose public half is `public_key_pem` (PEM
    /// `PUBLIC KEY` or `RSA PUBLIC KEY`); a key that cannot be read is
    /// [`std::io::ErrorKind::InvalidInput`].
    pub async fn start(
        addr: SocketAddr,
        key_id: impl Into<String>,
        public_key_pem: &str,
        options: Options,
    ) -> std::io::Result<Running> {
        let verifier = Verifier::new(key_id, public_key_pem)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let shared = Arc::new(Shared::new(verifier, &options));
        let app = handlers::router(shared.clone());
        let server = crate::serve::Server::start(addr, app, "oci").await?;
        Ok(Running { server, shared })
    }
}

/// A running fake. Dropping it stops the server (the task is aborted).
pub struct Running {
    server: crate::serve::Server,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("addr", &self.server.addr())
            .finish()
    }
}

impl Running {
    /// `http://127.0.0.1:PORT`: the endpoint override for `https://iaas.<region>.oraclecloud.com`
    /// (paths start with `/20160918`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The instances the API knows now, oldest first: terminated ones too until the
    /// retention has passed.
    pub fn instances(&self) -> Vec<InstanceRecord> {
        self.shared.instances()
    }

    /// Requests received so far, whatever their answer (401 and 429 included).
    pub fn request_count(&self) -> u64 {
        self.shared.request_count()
    }

    /// Why each refused request was not authenticated, oldest first (the last 1000).
    pub fn auth_failures(&self) -> Vec<String> {
        self.shared.lock().auth_failures()
    }

    /// Makes the next `n` LaunchInstance answer `fault` (replaces any count left).
    pub fn fail_next_launches(&self, n: u32, fault: Fault) {
        let mut st = self.shared.lock();
        st.fail_next_launches = n;
        st.launch_fault = fault;
    }

    /// The next `n` LaunchInstance calls launch their instance but answer 503, as if the
    /// response were lost: only a retry with the same `opc-retry-token` avoids a duplicate.
    pub fn lose_next_launch_answers(&self, n: u32) {
        self.shared.lock().lose_next_launch_answers = n;
    }

    /// Makes the next `n` authenticated requests of any kind answer `fault` (replaces
    /// any count left).
    pub fn fail_next_requests(&self, n: u32, fault: Fault) {
        let mut st = self.shared.lock();
        st.fail_next_requests = n;
        st.request_fault = fault;
    }

    /// Stops accepting connections, lets in-flight requests finish (for at most 2 s),
    /// then ends the server task.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}
