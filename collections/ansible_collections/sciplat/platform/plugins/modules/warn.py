#!/usr/bin/python
# Copyright (c) 2026 Science platform deployment kit maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: warn
version_added: 0.1.0
short_description: Give each message as one warning line
description:
  - Shows each message as an Ansible warning (C([WARNING]) in the output, in the run's warnings for
    ansible-runner), on one line, and changes nothing. Unlike M(ansible.builtin.debug), whose result the
    YAML callback wraps over several lines, a warning stays one line and stands out.
  - An action plugin that runs on the controller only.
author:
  - Science platform deployment kit maintainers
options:
  msg:
    description: A message or a list of messages; whitespace runs (new lines included) become one space.
    type: raw
    required: true
notes:
  - The same in check mode.
"""

EXAMPLES = r"""
- name: Warn about each node group the inventory no longer lists.
  sciplat.platform.warn:
    msg: "{{ extra_groups | map('regex_replace', '^', 'Extra node group ') | list }}"
"""

RETURN = r"""
count:
  description: How many messages were given.
  returned: always
  type: int
"""
