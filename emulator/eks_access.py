"""EKS access entries, and the token review that lets a cluster's API server know who calls it.

Operators reach an EKS cluster with a token from ``aws eks get-token``: ``k8s-aws-v1.`` and the
base64url of a presigned STS ``GetCallerIdentity`` URL that also signs the header ``x-k8s-aws-id:
<cluster>``. The API server sends the token to its authentication webhook (here the emulator's
``POST /_emulator/eks/<cluster>/authenticate``), which checks the URL as aws-iam-authenticator does,
finds the caller's identity as STS would, and maps it through the cluster's access entries to a
Kubernetes user and groups. Access entries follow the EKS API (botocore's ``eks`` model); the cluster's
creator gets an admin entry when ``bootstrapClusterCreatorAdminPermissions`` is true (AWS's default).

Authorization is approximated with groups: AmazonEKSClusterAdminPolicy gives ``system:masters``;
AmazonEKSAdminPolicy, AmazonEKSEditPolicy and AmazonEKSViewPolicy give ``eks:admin``, ``eks:edit`` and
``eks:view``, which each cluster binds to the ``admin``, ``edit`` and ``view`` ClusterRoles
(emulator/eks_kubernetes.py). Namespace-scoped associations are applied cluster-wide.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.eks.exceptions import InvalidParameterException, ResourceInUseException, ResourceNotFoundException

TOKEN_PREFIX = "k8s-aws-v1."
# aws-iam-authenticator: presigned URLs are good for 15 minutes, whatever X-Amz-Expires says.
TOKEN_LIFETIME = datetime.timedelta(minutes=15)
CLUSTER_ID_HEADER = "x-k8s-aws-id"
POLICY_ARN = "arn:aws:eks::aws:cluster-access-policy/{}"
POLICY_GROUPS = {
    "AmazonEKSClusterAdminPolicy": "system:masters",
    "AmazonEKSAdminPolicy": "eks:admin",
    "AmazonEKSEditPolicy": "eks:edit",
    "AmazonEKSViewPolicy": "eks:view",
}
PRINCIPAL = re.compile(r"^arn:aws[\w-]*:(iam|sts)::(\d{12}):(user|role|assumed-role)/(.+)$")
STS_HOSTS = re.compile(r"^(sts(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?|127\.0\.0\.1|localhost)(:\d+)?$")


@dataclass
class AccessEntry:
    account: str
    region: str
    cluster_name: str
    principal_arn: str
    kubernetes_groups: list[str]
    username: str
    type: str
    tags: dict[str, str]
    created_at: datetime.datetime = field(default_factory=utcnow)
    modified_at: datetime.datetime = field(default_factory=utcnow)
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    uuid: str = field(default_factory=lambda: str(uuid4()))

    @property
    def arn(self) -> str:
        kind, name = self.principal_arn.split(":", 5)[5].split("/", 1)
        account = self.principal_arn.split(":")[4]
        return (
            f"arn:aws:eks:{self.region}:{self.account}:access-entry/{self.cluster_name}/"
            f"{kind}/{account}/{name}/{self.uuid}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "clusterName": self.cluster_name,
            "principalArn": self.principal_arn,
            "kubernetesGroups": self.kubernetes_groups,
            "accessEntryArn": self.arn,
            "createdAt": self.created_at,
            "modifiedAt": self.modified_at,
            "tags": self.tags,
            "username": self.username,
            "type": self.type,
        }


_entries: dict[tuple[str, str, str], dict[str, AccessEntry]] = {}
_lock = threading.RLock()


def reset() -> None:
    with _lock:
        _entries.clear()


def forget_cluster(account: str, region: str, cluster_name: str) -> None:
    with _lock:
        _entries.pop((account, region, cluster_name), None)


def default_username(principal_arn: str) -> str:
    """EKS's default user name: the ARN for users, a session-templated one for roles."""
    match = PRINCIPAL.match(principal_arn)
    if match and match.group(3) == "role":
        role = match.group(4).rsplit("/", 1)[-1]
        return f"arn:aws:sts::{match.group(2)}:assumed-role/{role}/{{{{SessionName}}}}"
    return principal_arn


def _cluster_entries(backend: Any, cluster_name: str) -> dict[str, AccessEntry]:
    backend.describe_cluster(cluster_name)  # ResourceNotFoundException for a missing cluster
    return _entries.setdefault((backend.account_id, backend.region_name, cluster_name), {})


def _not_found(message: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(
        clusterName=None, nodegroupName=None, fargateProfileName=None, addonName=None, message=message
    )


def _entry(backend: Any, cluster_name: str, principal_arn: str) -> AccessEntry:
    entry = _cluster_entries(backend, cluster_name).get(principal_arn)
    if entry is None:
        raise _not_found(
            "The specified principalArn could not be found. "
            "You can view your available access entries with 'list-access-entries'."
        )
    return entry


def create_access_entry(
    backend: Any,
    cluster_name: str,
    principal_arn: str,
    kubernetes_groups: list[str] | None = None,
    username: str | None = None,
    entry_type: str | None = None,
    tags: dict[str, str] | None = None,
) -> AccessEntry:
    """https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateAccessEntry.html"""
    match = PRINCIPAL.match(principal_arn or "")
    if match is None or match.group(1) != "iam" or match.group(3) == "assumed-role":
        raise InvalidParameterException(
            message=f"The specified principalArn is invalid: {principal_arn!r}: give an IAM user or role ARN "
            "(arn:aws:iam::<account>:user/<name> or :role/<name>)"
        )
    with _lock:
        entries = _cluster_entries(backend, cluster_name)
        if principal_arn in entries:
            raise ResourceInUseException(
                clusterName=cluster_name,
                nodegroupName=None,
                addonName=None,
                message="The specified access entry resource is already in use on this cluster.",
            )
        entry = AccessEntry(
            backend.account_id,
            backend.region_name,
            cluster_name,
            principal_arn,
            list(kubernetes_groups or []),
            username or default_username(principal_arn),
            entry_type or "STANDARD",
            dict(tags or {}),
        )
        entries[principal_arn] = entry
    return entry


def associate_access_policy(
    backend: Any, cluster_name: str, principal_arn: str, policy_arn: str, access_scope: dict[str, Any]
) -> dict[str, Any]:
    """https://docs.aws.amazon.com/eks/latest/APIReference/API_AssociateAccessPolicy.html"""
    names = {POLICY_ARN.format(name): name for name in POLICY_GROUPS}
    if policy_arn not in names:
        raise InvalidParameterException(
            message=f"The specified policyArn is invalid: {policy_arn!r}; known: {', '.join(sorted(names))}"
        )
    if (access_scope or {}).get("type") not in ("cluster", "namespace"):
        raise InvalidParameterException(message="accessScope.type must be cluster or namespace")
    entry = _entry(backend, cluster_name, principal_arn)
    now = utcnow()
    previous = entry.policies.get(policy_arn, {})
    entry.policies[policy_arn] = {
        "policyArn": policy_arn,
        "accessScope": {"type": access_scope["type"], "namespaces": list(access_scope.get("namespaces", []))},
        "associatedAt": previous.get("associatedAt", now),
        "modifiedAt": now,
    }
    return entry.policies[policy_arn]


def on_create_cluster(
    backend: Any, cluster: Any, access_config: dict[str, Any] | None, caller_arn: str
) -> None:
    """EKS's bootstrap: the creator becomes a cluster admin unless the request says otherwise."""
    config = access_config or {}
    cluster.access_config = {
        "bootstrapClusterCreatorAdminPermissions": config.get(
            "bootstrapClusterCreatorAdminPermissions", True
        ),
        "authenticationMode": config.get("authenticationMode", "API_AND_CONFIG_MAP"),
    }
    if not cluster.access_config["bootstrapClusterCreatorAdminPermissions"]:
        return
    principal = iam_principal(caller_arn)
    with _lock:
        _entries[(backend.account_id, backend.region_name, cluster.name)] = {}
        create_access_entry(backend, cluster.name, principal)
        associate_access_policy(
            backend,
            cluster.name,
            principal,
            POLICY_ARN.format("AmazonEKSClusterAdminPolicy"),
            {"type": "cluster"},
        )


def iam_principal(caller_arn: str) -> str:
    """The IAM principal behind a caller: an assumed-role session is its role."""
    match = PRINCIPAL.match(caller_arn)
    if match and match.group(3) == "assumed-role":
        return f"arn:aws:iam::{match.group(2)}:role/{match.group(4).split('/')[0]}"
    if match and match.group(1) == "sts" and match.group(3) == "user":
        return f"arn:aws:iam::{match.group(2)}:user/{match.group(4)}"
    return caller_arn


# -- the token review -----------------------------------------------------------------------------


class TokenRefused(Exception):
    pass


def _presigned_url(token: str) -> urllib.parse.ParseResult:
    if not token.startswith(TOKEN_PREFIX):
        raise TokenRefused(f"the token does not start with {TOKEN_PREFIX!r}: it is not an EKS token")
    encoded = token.removeprefix(TOKEN_PREFIX)
    try:
        url = base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise TokenRefused("the token is not base64url of a URL") from error
    return urllib.parse.urlparse(url)


def _check_url(url: urllib.parse.ParseResult, cluster_name: str, now: datetime.datetime) -> dict[str, str]:
    if url.scheme not in ("https", "http") or not STS_HOSTS.match(url.netloc):
        raise TokenRefused(f"the token's URL is not an STS endpoint ({url.netloc!r})")
    query = {key.lower(): value for key, value in urllib.parse.parse_qsl(url.query)}
    if query.get("action") != "GetCallerIdentity":
        raise TokenRefused("the token's URL is not an STS GetCallerIdentity request")
    signed = query.get("x-amz-signedheaders", "").split(";")
    if CLUSTER_ID_HEADER not in signed:
        raise TokenRefused(f"the token does not sign the {CLUSTER_ID_HEADER} header: it names no cluster")
    try:
        issued = datetime.datetime.strptime(query["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.UTC
        )
        expires = int(query.get("x-amz-expires", "0"))
    except (KeyError, ValueError) as error:
        raise TokenRefused("the token's URL has no valid X-Amz-Date") from error
    if expires > TOKEN_LIFETIME.total_seconds():
        raise TokenRefused(f"the token asks to live {expires} s, more than 900 s")
    if now > issued + TOKEN_LIFETIME:
        raise TokenRefused(
            f"the token expired at {(issued + TOKEN_LIFETIME).isoformat()}: get a new one (aws eks get-token)"
        )
    if now < issued - datetime.timedelta(minutes=5):
        raise TokenRefused("the token is dated in the future")
    return query


def _secret(account: str, access_key: str) -> tuple[str, str | None]:
    """The secret (and session token) STS would check the signature with."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    from emulator.launcher import CLIENT_ENV

    role = sts_backends[account]["global"].get_assumed_role_from_access_key(access_key)
    if role is not None:
        return role.secret_access_key, role.session_token
    for partition in iam_backends[account].values():
        user = partition.get_user_from_access_key_id(access_key)
        if user is not None:
            key = next(k for k in user.access_keys if k.access_key_id == access_key)
            return key.secret_access_key, None
    # Keys moto does not know are the emulator's default identity (user/moto) and its test secret.
    return CLIENT_ENV["AWS_SECRET_ACCESS_KEY"], None


def _check_signature(
    url: urllib.parse.ParseResult, query: dict[str, str], cluster_name: str, account: str
) -> str:
    """Recompute the SigV4 signature with ``x-k8s-aws-id: <cluster>``, as STS does when the
    authenticator replays the URL; a token made for another cluster does not match. The access key."""
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    access_key, _, region, service, _ = (query.get("x-amz-credential", "") + "////").split("/")[:5]
    if not access_key or service != "sts":
        raise TokenRefused("the token's URL has no STS X-Amz-Credential")
    secret, session_token = _secret(account, access_key)
    pairs = [(k, v) for k, v in urllib.parse.parse_qsl(url.query) if k != "X-Amz-Signature"]
    unsigned = url._replace(query=urllib.parse.urlencode(pairs)).geturl()
    auth = SigV4QueryAuth(
        Credentials(access_key, secret, session_token), "sts", region, int(query["x-amz-expires"])
    )
    request = AWSRequest(method="GET", url=unsigned, headers={CLUSTER_ID_HEADER: cluster_name})
    request.context["timestamp"] = query["x-amz-date"]
    signature = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    if signature != query.get("x-amz-signature"):
        raise TokenRefused(
            f"the token's signature does not hold for cluster {cluster_name}: it was made for another "
            "cluster, or altered; get one with `aws eks get-token --cluster-name " + cluster_name + "`"
        )
    return access_key


def review(account: str, region: str, cluster_name: str, token: str) -> dict[str, Any]:
    """A TokenReview status (authentication.k8s.io/v1) for a token sent to ``cluster_name``'s API server."""
    from moto.sts.models import sts_backends

    try:
        url = _presigned_url(token)
        query = _check_url(url, cluster_name, utcnow().replace(tzinfo=datetime.UTC))
        access_key = _check_signature(url, query, cluster_name, account)
        user_id, caller_arn, caller_account = sts_backends[account]["global"].get_caller_identity(
            access_key, region
        )
        principal = iam_principal(caller_arn)
        entry = _entries.get((account, region, cluster_name), {}).get(principal)
        if entry is None:
            raise TokenRefused(
                f"{principal} has no access entry in cluster {cluster_name}: an admin must create one "
                "(aws eks create-access-entry, then associate-access-policy)"
            )
    except TokenRefused as refused:
        return {"authenticated": False, "error": str(refused)}
    groups = list(entry.kubernetes_groups)
    for policy_arn in entry.policies:
        group = POLICY_GROUPS[policy_arn.rsplit("/", 1)[-1]]
        if group not in groups:
            groups.append(group)
    session = caller_arn.rsplit("/", 1)[-1]
    return {
        "authenticated": True,
        "user": {
            "username": entry.username.replace("{{SessionName}}", session),
            # aws-iam-authenticator's uid and extra: the caller's UserId (GetCallerIdentity's), ARNs, key.
            "uid": f"aws-iam-authenticator:{caller_account}:{user_id}",
            "groups": [*groups, "system:authenticated"],
            "extra": {
                "arn": [caller_arn],
                "canonicalArn": [principal],
                "principalId": [user_id],
                "accessKeyId": [access_key],
                "sessionName": [session],
            },
        },
    }


def locate(cluster_name: str) -> tuple[str, str] | None:
    """The (account, region) of the one emulated cluster named ``cluster_name``, or None."""
    from moto.eks.models import eks_backends

    found = [
        (account, region)
        for account, regions in list(eks_backends.items())
        for region, backend in list(regions.items())
        if cluster_name in backend.clusters
    ]
    return found[0] if len(found) == 1 else None


def review_by_name(cluster_name: str, token: str) -> dict[str, Any]:
    """``review`` for the cluster of that name, whatever its account and region (it must be unique)."""
    where = locate(cluster_name)
    if where is None:
        return {
            "authenticated": False,
            "error": f"there is not exactly one emulated EKS cluster named {cluster_name}: use "
            "/_emulator/eks/<account>/<region>/<cluster>/authenticate",
        }
    return review(*where, cluster_name, token)


# -- the API's request handling (mixed into emulator.eks.EmulatedEKSResponse) ----------------------


def _page(items: list[Any], max_results: Any, next_token: str | None) -> tuple[list[Any], str | None]:
    """One page of a list operation (``maxResults``, 1-100, AWS's default 100; an opaque ``nextToken``)."""
    size = int(max_results or 100)
    if not 1 <= size <= 100:
        raise InvalidParameterException(message="maxResults must be between 1 and 100")
    try:
        start = int(base64.urlsafe_b64decode(next_token).decode()) if next_token else 0
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise InvalidParameterException(message="The nextToken is not valid") from error
    end = start + size
    following = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[start:end], following


class AccessEntryResponses:
    """The access entry operations, parsed from botocore's model by moto's router."""

    def _access_backend(self) -> Any:
        return self.eks_backend  # type: ignore[attr-defined]

    def _param(self, name: str) -> Any:
        value = self._get_param(name)  # type: ignore[attr-defined]
        return urllib.parse.unquote(value) if isinstance(value, str) else value

    def create_access_entry(self) -> ActionResult:
        entry = create_access_entry(
            self._access_backend(),
            self._param("name"),
            self._param("principalArn"),
            self._param("kubernetesGroups"),
            self._param("username"),
            self._param("type"),
            self._param("tags"),
        )
        return ActionResult({"accessEntry": entry.to_dict()})

    def describe_access_entry(self) -> ActionResult:
        entry = _entry(self._access_backend(), self._param("name"), self._param("principalArn"))
        return ActionResult({"accessEntry": entry.to_dict()})

    def list_access_entries(self) -> ActionResult:
        entries = _cluster_entries(self._access_backend(), self._param("name"))
        wanted = self._param("associatedPolicyArn")
        arns = sorted(arn for arn, entry in entries.items() if not wanted or wanted in entry.policies)
        page, following = _page(arns, self._param("maxResults"), self._param("nextToken"))
        return ActionResult({"accessEntries": page, "nextToken": following})

    def update_access_entry(self) -> ActionResult:
        entry = _entry(self._access_backend(), self._param("name"), self._param("principalArn"))
        if (groups := self._param("kubernetesGroups")) is not None:
            entry.kubernetes_groups = list(groups)
        if username := self._param("username"):
            entry.username = username
        entry.modified_at = utcnow()
        return ActionResult({"accessEntry": entry.to_dict()})

    def delete_access_entry(self) -> ActionResult:
        backend = self._access_backend()
        _entry(backend, self._param("name"), self._param("principalArn"))
        with _lock:
            _cluster_entries(backend, self._param("name")).pop(self._param("principalArn"), None)
        return ActionResult({})

    def associate_access_policy(self) -> ActionResult:
        policy = associate_access_policy(
            self._access_backend(),
            self._param("name"),
            self._param("principalArn"),
            self._param("policyArn"),
            self._param("accessScope") or {},
        )
        return ActionResult(
            {
                "clusterName": self._param("name"),
                "principalArn": self._param("principalArn"),
                "associatedAccessPolicy": policy,
            }
        )

    def list_associated_access_policies(self) -> ActionResult:
        entry = _entry(self._access_backend(), self._param("name"), self._param("principalArn"))
        page, following = _page(
            list(entry.policies.values()), self._param("maxResults"), self._param("nextToken")
        )
        return ActionResult(
            {
                "clusterName": entry.cluster_name,
                "principalArn": entry.principal_arn,
                "associatedAccessPolicies": page,
                "nextToken": following,
            }
        )

    def disassociate_access_policy(self) -> ActionResult:
        entry = _entry(self._access_backend(), self._param("name"), self._param("principalArn"))
        entry.policies.pop(self._param("policyArn"), None)
        return ActionResult({})

    def list_access_policies(self) -> ActionResult:
        policies = [{"name": name, "arn": POLICY_ARN.format(name)} for name in POLICY_GROUPS]
        page, following = _page(policies, self._param("maxResults"), self._param("nextToken"))
        return ActionResult({"accessPolicies": page, "nextToken": following})


PATHS = (
    "{0}/clusters/(?P<name>[^/]+)/access-entries$",
    "{0}/clusters/(?P<name>[^/]+)/access-entries/(?P<principalArn>.+)/access-policies/(?P<policyArn>.+)$",
    "{0}/clusters/(?P<name>[^/]+)/access-entries/(?P<principalArn>.+)/access-policies$",
    "{0}/clusters/(?P<name>[^/]+)/access-entries/(?P<principalArn>.+)$",
    "{0}/access-policies$",
)
