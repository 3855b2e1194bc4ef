"""The monitoring stage on the local EKS site's inventory: the lb-5xx alarm watches the load balancer the
hub's public Service made, found without a value filled in by hand; teardown deletes the hub's log
group only when the role made it.

The Service lives on a real API server (the `api_server` fixture). Nothing on this machine makes a
load balancer for a Service of type LoadBalancer, so the test does what the in-tree cloud controller
does on EKS: it creates a Classic ELB tagged with the Service's name in the emulated account and
writes the ELB's DNS name into the Service's status.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from ansible_run import PlaybookRun, run_playbook

from emulator.launcher import Emulator

SITE = "local-eks"
REGION = "us-east-1"
NAMESPACE = "jhub"
ALARM = f"{SITE}-lb-5xx"
LOG_GROUP = f"/aws/containerinsights/{SITE}/application"
OWNER_TAG = "sciplat:created-by"


def aws(emulator: Emulator, service: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=emulator.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def monitoring(emulator: Emulator, playbook: str = "monitoring.yml", **extra: Any) -> PlaybookRun:
    # No cluster in this account: the node alarms (which read the node group from EKS) are left out.
    extra_vars = {
        "site_aws_environment": emulator.client_env(),
        "cloudwatch_alarms_cluster_name": "",
        **extra,
    }
    run = run_playbook(playbook, site=SITE, state_dir=emulator.state_dir, extra_vars=extra_vars)
    assert run.returncode == 0, run.output[-4000:]
    return run


def lb_alarm(emulator: Emulator) -> dict[str, Any] | None:
    alarms = aws(emulator, "cloudwatch").describe_alarms(AlarmNames=[ALARM])["MetricAlarms"]
    return alarms[0] if alarms else None


def test_lb_5xx_alarm_watches_the_load_balancer_of_the_hubs_service(
    site_emulator: Emulator, api_server: Any
) -> None:
    site_emulator.reset()
    client, api_client, kubeconfig = api_server
    core = client.CoreV1Api(api_client)
    core.create_namespace({"metadata": {"name": NAMESPACE}})
    core.create_namespaced_service(
        NAMESPACE,
        {
            "metadata": {"name": "proxy-public"},
            "spec": {
                "type": "LoadBalancer",
                "selector": {"component": "proxy"},
                "ports": [{"name": "http", "port": 80, "targetPort": 8000}],
            },
        },
    )
    hub = {"jupyterhub_eks_kubeconfig": str(kubeconfig), "jupyterhub_eks_namespace": NAMESPACE}

    # The load balancer is still being made: said in a warning, no alarm, and nothing to change next time.
    for run in (monitoring(site_emulator, **hub), monitoring(site_emulator, **hub)):
        assert "proxy-public has no load balancer address yet" in run.output, run.output[-4000:]
        assert lb_alarm(site_emulator) is None
    assert run.changed == 0, run.output[-4000:]

    # What the in-tree controller makes: a Classic ELB named after the Service's UID, tagged with the
    # Service's name; other load balancers of the region are not the hub's.
    elb, elbv2, ec2 = aws(site_emulator, "elb"), aws(site_emulator, "elbv2"), aws(site_emulator, "ec2")
    listeners = [
        {"Protocol": "TCP", "LoadBalancerPort": 80, "InstanceProtocol": "TCP", "InstancePort": 30080}
    ]
    for name, service in (("a0123456789abcdef0123456789abcde", "proxy-public"), ("someone-elses", "other")):
        elb.create_load_balancer(
            LoadBalancerName=name,
            Listeners=listeners,
            AvailabilityZones=[f"{REGION}a"],
            Tags=[
                {"Key": "kubernetes.io/service-name", "Value": f"{NAMESPACE}/{service}"},
                {"Key": f"kubernetes.io/cluster/{SITE}-hub", "Value": "owned"},
            ],
        )
    classic = elb.describe_load_balancers(LoadBalancerNames=["a0123456789abcdef0123456789abcde"])
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")[
            "Subnet"
        ]["SubnetId"]
        for i, zone in enumerate("ab")
    ]
    alb = elbv2.create_load_balancer(Name="hub-alb", Subnets=subnets, Type="application")["LoadBalancers"][0]

    def serve_from(hostname: str) -> None:
        core.patch_namespaced_service_status(
            "proxy-public", NAMESPACE, {"status": {"loadBalancer": {"ingress": [{"hostname": hostname}]}}}
        )

    # An address no load balancer of the region has, then a Network Load Balancer's: each said, no alarm.
    nlb = elbv2.create_load_balancer(Name="hub-nlb", Subnets=subnets, Type="network")["LoadBalancers"][0]
    gone = "hub-gone.elb.example.org"
    for hostname, said in (
        (gone, f"No load balancer of {REGION} has the DNS name {gone}."),
        (nlb["DNSName"], f"The load balancer {nlb['DNSName'].lower()} is a Network Load Balancer"),
    ):
        serve_from(hostname)
        run = monitoring(site_emulator, **hub)
        assert said in run.output and "The lb-5xx alarm is left out" in run.output, run.output[-4000:]
        assert lb_alarm(site_emulator) is None

    serve_from(classic["LoadBalancerDescriptions"][0]["DNSName"])
    run = monitoring(site_emulator, **hub)
    assert "The lb-5xx alarm is left out" not in run.output, run.output[-4000:]
    alarm = lb_alarm(site_emulator)
    assert alarm is not None, run.output[-4000:]
    # A Classic ELB with the hub's TCP listeners publishes no HTTPCode_ELB_5XX: its own failures are
    # the connections it could not make to the nodes.
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Dimensions"]) == (
        "AWS/ELB",
        "BackendConnectionErrors",
        [{"Name": "LoadBalancerName", "Value": "a0123456789abcdef0123456789abcde"}],
    )

    # The same Service behind an ALB (the AWS Load Balancer Controller's): its 5xx, by app/<name>/<id>.
    serve_from(alb["DNSName"])
    monitoring(site_emulator, **hub)
    alarm = lb_alarm(site_emulator)
    assert alarm is not None
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Dimensions"]) == (
        "AWS/ApplicationELB",
        "HTTPCode_ELB_5XX_Count",
        [{"Name": "LoadBalancer", "Value": alb["LoadBalancerArn"].split(":loadbalancer/")[1]}],
    )


@pytest.mark.emulator
def test_run_alone_it_watches_the_home_file_system_it_finds(site_emulator: Emulator) -> None:
    site_emulator.reset()
    efs, cloudwatch = aws(site_emulator, "efs"), aws(site_emulator, "cloudwatch")
    no_hub = {"jupyterhub_backend": "single_node"}

    def watched() -> dict[str, list[str]]:
        """The EFS alarms and the file systems they watch (the storage-growth one through its metric math)."""
        found = cloudwatch.describe_alarms(AlarmNamePrefix=f"{SITE}-efs-")["MetricAlarms"]
        return {
            alarm["AlarmName"]: [
                dimension["Value"]
                for metric in [
                    alarm,
                    *(m["MetricStat"]["Metric"] for m in alarm.get("Metrics", []) if "MetricStat" in m),
                ]
                for dimension in metric.get("Dimensions", [])
                if dimension["Name"] == "FileSystemId"
            ]
            for alarm in found
        }

    # No home file system yet: no EFS alarm.
    monitoring(site_emulator, **no_hub)
    assert watched() == {}

    # The site's (found by its Name tag, efs_storage_name; encrypted, as the storage stage makes it), beside
    # another one of the account.
    def file_system(name: str) -> str:
        made = efs.create_file_system(
            CreationToken=name, Encrypted=True, Tags=[{"Key": "Name", "Value": name}]
        )
        return str(made["FileSystemId"])

    file_system("someone-elses-homes")
    homes = file_system(f"{SITE}-homes")
    run = monitoring(site_emulator, **no_hub)
    assert watched() == {
        f"{SITE}-efs-{alarm}": [homes] for alarm in ("io-limit", "burst-credits", "storage-growth")
    }, run.output[-4000:]


# Four runs of the stage (about 100 s): with the teardown tests.
@pytest.mark.e2e
def test_teardown_deletes_the_hubs_log_group_only_when_the_role_made_it(site_emulator: Emulator) -> None:
    site_emulator.reset()
    logs = aws(site_emulator, "logs")
    # Container Insights' add-on made the group first (its agent ships the pods' logs there).
    logs.create_log_group(logGroupName=LOG_GROUP, tags={"Owner": "container-insights"})
    own_group = f"/sciplat/{SITE}/hub"
    no_hub = {"jupyterhub_backend": "single_node"}

    def site_filters(group: str) -> list[str]:
        found = logs.describe_metric_filters(logGroupName=group)["metricFilters"]
        return sorted(f["filterName"] for f in found if f["filterName"].startswith(f"{SITE}-"))

    def groups() -> dict[str, dict[str, str]]:
        found = logs.describe_log_groups(logGroupNamePrefix="/")["logGroups"]
        return {
            g["logGroupName"]: logs.list_tags_log_group(logGroupName=g["logGroupName"])["tags"] for g in found
        }

    monitoring(site_emulator, cloudwatch_alarms_hub_log_group=LOG_GROUP, **no_hub)
    assert site_filters(LOG_GROUP) == [f"{SITE}-hub-fail-open", f"{SITE}-usage-stale"]
    assert groups()[LOG_GROUP] == {"Owner": "container-insights"}  # not the role's: not tagged either
    monitoring(site_emulator, "teardown/monitoring.yml", cloudwatch_alarms_hub_log_group=LOG_GROUP)
    assert groups()[LOG_GROUP] == {"Owner": "container-insights"}
    assert site_filters(LOG_GROUP) == []

    # A fresh account: converging again within the topic keys' 30 days of pending deletion is another story.
    site_emulator.reset()
    monitoring(site_emulator, cloudwatch_alarms_hub_log_group=own_group, **no_hub)
    assert groups()[own_group][OWNER_TAG] == f"cloudwatch_alarms/{SITE}"
    assert len(site_filters(own_group)) == 2
    monitoring(site_emulator, "teardown/monitoring.yml", cloudwatch_alarms_hub_log_group=own_group)
    assert own_group not in groups()
