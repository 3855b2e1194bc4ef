"""SNS: a delivery that fails (an HTTP(S) endpoint that does not answer) never fails the Publish.

On AWS, Publish returns once the message is accepted; deliveries to subscriptions happen afterwards,
and a failed HTTP/S delivery is retried according to the delivery policy, then dropped or sent to
the subscription's dead-letter queue
(https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html). moto delivers inline,
so an unreachable webhook made Publish (and an alarm's state change, see emulator.cloudwatch) fail
with a connection error and skipped the other subscriptions. Here the failure is logged and the
other subscriptions still get the message.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from moto.sns.models import Subscription

from emulator.patching import wrap

LOG = logging.getLogger(__name__)


def _publish(original: Any, subscription: Subscription, *args: Any, **kwargs: Any) -> None:
    try:
        original(subscription, *args, **kwargs)
    except requests.RequestException as error:
        LOG.warning("SNS delivery to %s failed (not retried): %s", subscription.endpoint, error)


def install() -> None:
    wrap(Subscription, "publish")(_publish)
