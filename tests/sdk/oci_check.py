#!/usr/bin/env python3
"""Cross-check the fake OCI Compute API against Oracle's official `oci` Python SDK.

Usage: python oci_check.py BASE_URL TENANCY_OCID USER_OCID FINGERPRINT PRIVATE_KEY_FILE

BASE_URL is what `fakecloud oci` prints (e.g. http://127.0.0.1:40123); the SDK clients get
it as their service_endpoint and add /20160918 themselves. The fake must have been started
with key id TENANCY_OCID/USER_OCID/FINGERPRINT and the public half of PRIVATE_KEY_FILE, and
with exactly one injected LaunchInstance failure (`fail_next_launches = 1`): the first
launch relies on the SDK's default retry strategy to get past it.

The script first checks that the SDK's own signer reproduces the published signing test
vectors (tests/vectors/oci-signing/cases.json), then launches instances with user_data,
waits for RUNNING, lists by compartment (paginated) and finds its instance by freeform
tags, reads the VNIC's addresses, checks retry tokens and errors, terminates everything
and waits for TERMINATED. Every request is signed by the SDK, unchanged. It stops at the
first mismatch with a clear message and prints "oci check: N checks passed" at the end.
Install the SDK with: pip install -r requirements.txt
"""

from __future__ import annotations

import base64
import ipaddress
import json
import pathlib
import sys
import uuid

import oci
import requests
from oci.core.models import (
    CreateVnicDetails,
    InstanceSourceViaImageDetails,
    LaunchInstanceDetails,
    LaunchInstanceShapeConfigDetails,
)
from oci.exceptions import ServiceError

VECTORS = pathlib.Path(__file__).resolve().parent.parent / "vectors" / "oci-signing"
AD = "Uocm:US-ASHBURN-AD-1"
IMAGE = "ocid1.image.oc1.iad.aaaaaaaasdkcheckimage"
SUBNET = "ocid1.subnet.oc1.iad.aaaaaaaasdkchecksubnet"

PASSED = 0


class Mismatch(Exception):
    pass


def check(what: str, ok: bool, detail: object = "") -> None:
    """Count one check; stop at the first one that fails."""
    global PASSED
    if not ok:
        raise Mismatch(f"{what}{': ' + str(detail) if detail != '' else ''}")
    PASSED += 1


def expect_service_error(what: str, status: int, code: str, fn) -> ServiceError:
    """fn() must raise a ServiceError with this status and code."""
    try:
        result = fn()
    except ServiceError as e:
        check(f"{what}: status", e.status == status, f"got {e.status} {e.code} ({e.message})")
        check(f"{what}: code", e.code == code, f"got {e.code!r} ({e.message}), want {code!r}")
        return e
    raise Mismatch(f"{what}: expected ServiceError {status} {code}, got a result: {result!r}")


def check_vectors() -> None:
    """The SDK's signer reproduces the published signatures byte for byte."""
    doc = json.loads((VECTORS / "cases.json").read_text())
    tenancy, user, fingerprint = doc["key_id"].split("/")
    signer = oci.signer.Signer(tenancy, user, fingerprint, str(VECTORS / "private_key.pem"))
    for case in doc["cases"]:
        body = case["body"].encode() if case["body"] else None
        req = requests.Request(
            case["method"], case["url"], headers={"date": case["headers"]["date"]}, data=body
        ).prepare()
        signer(req)
        params = dict(
            p.split("=", 1) for p in req.headers["authorization"][len("Signature ") :].split(",")
        )
        name = case["name"]
        check(f"vector {name}: signature", params["signature"].strip('"') == case["signature"])
        check(
            f"vector {name}: signed headers",
            params["headers"].strip('"') == " ".join(case["signed_headers"]),
            params["headers"],
        )
        for header in ("content-length", "x-content-sha256"):
            if header in case["headers"]:
                check(
                    f"vector {name}: {header}",
                    req.headers.get(header) == case["headers"][header],
                    req.headers.get(header),
                )


def launch_details(compartment: str, name: str, tags: dict, user_data: str) -> LaunchInstanceDetails:
    return LaunchInstanceDetails(
        availability_domain=AD,
        compartment_id=compartment,
        display_name=name,
        shape="VM.Standard.A1.Flex",
        shape_config=LaunchInstanceShapeConfigDetails(ocpus=1, memory_in_gbs=6),
        source_details=InstanceSourceViaImageDetails(image_id=IMAGE, boot_volume_size_in_gbs=50),
        create_vnic_details=CreateVnicDetails(subnet_id=SUBNET, assign_public_ip=True, hostname_label=name),
        freeform_tags=tags,
        metadata={
            "user_data": base64.b64encode(user_data.encode()).decode(),
            "ssh_authorized_keys": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO oci_check",
        },
    )


def main(base_url: str, tenancy: str, user: str, fingerprint: str, key_file: str) -> None:
    check_vectors()

    config = {
        "tenancy": tenancy,
        "user": user,
        "fingerprint": fingerprint,
        "key_file": key_file,
        "region": "us-ashburn-1",
    }
    oci.config.validate_config(config)
    compute = oci.core.ComputeClient(config, service_endpoint=base_url)
    network = oci.core.VirtualNetworkClient(config, service_endpoint=base_url)
    compartment = tenancy  # the root compartment

    # A key the fake does not know is refused.
    stranger = dict(config, fingerprint="00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff")
    expect_service_error(
        "unknown keyId",
        401,
        "NotAuthenticated",
        lambda: oci.core.ComputeClient(stranger, service_endpoint=base_url).list_instances(compartment),
    )

    suffix = uuid.uuid4().hex[:8]
    name = f"sdk-{suffix}"
    tags = {"tazhost-cluster": f"sdkcheck-{suffix}", "tazhost-role": "worker"}
    user_data = "#cloud-config\nruncmd:\n  - echo hello from oci_check\n"
    token = f"oci-check-{suffix}"

    # Launch: the fake fails the first attempt with 500; the SDK's retry strategy retries
    # with the same opc-retry-token and the second attempt succeeds.
    details = launch_details(compartment, name, tags, user_data)
    launched = compute.launch_instance(
        details, opc_retry_token=token, retry_strategy=oci.retry.DEFAULT_RETRY_STRATEGY
    )
    inst = launched.data
    check("launch: 200", launched.status == 200, launched.status)
    check("launch: id", inst.id.startswith("ocid1.instance.oc1.iad."), inst.id)
    check("launch: PROVISIONING", inst.lifecycle_state == "PROVISIONING", inst.lifecycle_state)
    check("launch: display name", inst.display_name == name, inst.display_name)
    check("launch: shape", inst.shape == "VM.Standard.A1.Flex", inst.shape)
    check("launch: ocpus", inst.shape_config.ocpus == 1, inst.shape_config)
    check("launch: memory", inst.shape_config.memory_in_gbs == 6, inst.shape_config)
    check("launch: tags", inst.freeform_tags == tags, inst.freeform_tags)
    check("launch: source", inst.source_details.image_id == IMAGE, inst.source_details)
    check(
        "launch: user_data round trip",
        base64.b64decode(inst.metadata["user_data"]).decode() == user_data,
        inst.metadata,
    )
    check("launch: timeCreated parsed", inst.time_created is not None, inst.time_created)
    check("launch: etag", bool(launched.headers.get("etag")), launched.headers)
    check("launch: work request", bool(launched.headers.get("opc-work-request-id")), launched.headers)
    check("launch: request id", bool(launched.request_id), launched.headers)

    # The same token and request: the same instance, not a second one.
    again = compute.launch_instance(
        details, opc_retry_token=token, retry_strategy=oci.retry.NoneRetryStrategy()
    )
    check("retry token: same instance", again.data.id == inst.id, again.data.id)
    # The same token for another request: 409.
    other = launch_details(compartment, name + "-x", tags, user_data)
    expect_service_error(
        "retry token reused for another request",
        409,
        "InvalidatedRetryToken",
        lambda: compute.launch_instance(
            other, opc_retry_token=token, retry_strategy=oci.retry.NoneRetryStrategy()
        ),
    )

    # A second instance in the same compartment, so listing has something to skip.
    second = compute.launch_instance(
        launch_details(compartment, name + "-2", {"tazhost-cluster": "someone-else"}, "#!/bin/sh\n")
    ).data

    running = oci.wait_until(
        compute,
        compute.get_instance(inst.id),
        "lifecycle_state",
        "RUNNING",
        max_interval_seconds=1,
        max_wait_seconds=60,
    ).data
    check("wait: RUNNING", running.lifecycle_state == "RUNNING", running.lifecycle_state)

    # List by compartment, one per page, and find ours by its tags.
    listed = oci.pagination.list_call_get_all_results(
        compute.list_instances, compartment, limit=1
    ).data
    ids = {i.id for i in listed}
    check("list: both instances over pages", {inst.id, second.id} <= ids, ids)
    mine = [i for i in listed if i.freeform_tags.get("tazhost-cluster") == tags["tazhost-cluster"]]
    check("list: found by freeform tags", [i.id for i in mine] == [inst.id], [i.id for i in mine])
    by_name = compute.list_instances(compartment, display_name=name).data
    check("list: by display name", [i.id for i in by_name] == [inst.id], by_name)

    # The VNIC's addresses.
    attachments = compute.list_vnic_attachments(compartment, instance_id=inst.id).data
    check("vnic attachments: one", len(attachments) == 1, attachments)
    attachment = attachments[0]
    check("vnic attachment: ATTACHED", attachment.lifecycle_state == "ATTACHED", attachment.lifecycle_state)
    check("vnic attachment: subnet", attachment.subnet_id == SUBNET, attachment.subnet_id)
    vnic = network.get_vnic(attachment.vnic_id).data
    check("vnic: AVAILABLE", vnic.lifecycle_state == "AVAILABLE", vnic.lifecycle_state)
    check("vnic: primary", vnic.is_primary is True, vnic.is_primary)
    check("vnic: hostname label", vnic.hostname_label == name, vnic.hostname_label)
    check(
        "vnic: private IP in 10.0.0.0/16",
        ipaddress.ip_address(vnic.private_ip) in ipaddress.ip_network("10.0.0.0/16"),
        vnic.private_ip,
    )
    check(
        "vnic: public IP from a documentation range",
        ipaddress.ip_address(vnic.public_ip) in ipaddress.ip_network("203.0.113.0/24"),
        vnic.public_ip,
    )

    # Errors.
    expect_service_error(
        "get unknown instance",
        404,
        "NotAuthorizedOrNotFound",
        lambda: compute.get_instance("ocid1.instance.oc1.iad.aaaaaaaadoesnotexist"),
    )
    bad = launch_details(compartment, name + "-bad", tags, user_data)
    bad.metadata = {"user_data": "not base64 at all!"}
    expect_service_error("launch with bad user_data", 400, "InvalidParameter", lambda: compute.launch_instance(bad))

    # Terminate both and wait.
    for instance_id in (inst.id, second.id):
        done = compute.terminate_instance(instance_id, preserve_boot_volume=False)
        check("terminate: 204", done.status == 204, done.status)
    gone = oci.wait_until(
        compute,
        compute.get_instance(inst.id),
        "lifecycle_state",
        "TERMINATED",
        max_interval_seconds=1,
        max_wait_seconds=60,
        succeed_on_not_found=True,
    ).data
    check("wait: TERMINATED", gone.lifecycle_state == "TERMINATED", gone.lifecycle_state)
    oci.wait_until(
        compute,
        compute.get_instance(second.id),
        "lifecycle_state",
        "TERMINATED",
        max_interval_seconds=1,
        max_wait_seconds=60,
    )
    terminated = compute.list_instances(compartment, lifecycle_state="TERMINATED").data
    check(
        "list: terminated instances stay listed",
        {inst.id, second.id} <= {i.id for i in terminated},
        terminated,
    )
    detached = compute.list_vnic_attachments(compartment, instance_id=inst.id).data
    check("vnic attachment: DETACHED", detached[0].lifecycle_state == "DETACHED", detached)

    print(f"oci check: {PASSED} checks passed")


if __name__ == "__main__":
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        main(*sys.argv[1:])
    except Mismatch as e:
        print(f"oci check FAILED after {PASSED} checks: {e}", file=sys.stderr)
        sys.exit(1)
