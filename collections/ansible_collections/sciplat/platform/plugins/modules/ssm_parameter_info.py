#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ssm_parameter_info
version_added: 0.1.0
short_description: Read one SSM parameter, saying whether it exists
description:
  - Reads a Systems Manager parameter (GetParameter) as a task, so it goes to the play's AWS endpoint
    and credentials; the M(amazon.aws.ssm_parameter) lookup runs on the controller outside the task's
    environment.
  - A parameter that does not exist is not an error, RV(exists) is false. Any other failure (access
    denied, throttling) fails the task naming the parameter.
author:
  - Science platform deployment kit maintainers
options:
  name:
    description: The parameter's name, e.g. C(/sciplat/hst-prod/cost-cap).
    type: str
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
notes:
  - Reads only; the same in check mode.
"""

EXAMPLES = r"""
- name: Read the site's cost cap.
  sciplat.platform.ssm_parameter_info:
    name: /sciplat/hst-prod/cost-cap
  register: cost_cap
"""

RETURN = r"""
exists:
  description: Whether the parameter exists.
  returned: always
  type: bool
value:
  description: Its value (decrypted for a SecureString); null when it does not exist.
  returned: always
  type: str
  sample: '{"enabled": true, "reason": "budget 110%"}'
"""

import contextlib

with contextlib.suppress(ImportError):  # a missing botocore is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={"name": {"type": "str", "required": True}}, supports_check_mode=True
    )
    name = module.params["name"]
    ssm = module.client("ssm", retry_decorator=AWSRetry.jittered_backoff())
    try:
        answer = ssm.get_parameter(aws_retry=True, Name=name, WithDecryption=True)
    except is_boto3_error_code("ParameterNotFound"):
        module.exit_json(changed=False, exists=False, value=None)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:  # pylint: disable=duplicate-except
        module.fail_json_aws(error, msg=f"Cannot read the SSM parameter {name}")
    module.exit_json(changed=False, exists=True, value=answer["Parameter"]["Value"])


if __name__ == "__main__":
    main()
