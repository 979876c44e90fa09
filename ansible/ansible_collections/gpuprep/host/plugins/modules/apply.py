#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: the gpuprep authors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: apply
short_description: Take a GPU host to a declarative layout (VFIO bindings, SR-IOV VFs, vGPUs)
version_added: "1.0.0"
description:
  - Runs C(gpuprep apply) on the managed host. The layout names the functions to bind to a VFIO
    driver, the VF count of each GPU and the vGPUs each GPU holds; gpuprep plans the difference
    in dependency order, within each GPU's capacity, verifies every step and rolls the whole run
    back on a failure. Nothing the layout does not mention is removed.
  - C(changed) comes from gpuprep's JSON report, never from its text.
  - In check mode the module runs C(gpuprep apply --check), which changes nothing and reports
    whether the host differs. In diff mode it returns what the host has of what the layout
    mentions, before and after.
  - NVIDIA vgpu-device-manager files are read as they are; I(profile) chooses the label.
author:
  - the gpuprep authors
extends_documentation_fragment:
  - gpuprep.host.gpuprep
options:
  config:
    description:
      - Path of a layout file on the managed host.
      - Without I(config) or I(layout), gpuprep's default, C(/etc/gpuprep/gpuprep.yaml) under I(root).
    type: path
  layout:
    description:
      - The layout itself, as a mapping (the same document as a file).
      - Mutually exclusive with I(config).
    type: dict
  profile:
    description:
      - The profile of the layout to apply (a vgpu-device-manager label).
    type: str
  persist:
    description:
      - Also make the layout hold at boot (C(gpuprep apply --persist)) by installing and enabling
        C(gpuprep-apply.service) and the passthrough devices' early binding rules.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - A refusal (a vGPU in use, an over-ask beyond a GPU's capacity, a layout with an error) fails
    the task with gpuprep's message and changes nothing.
'''

EXAMPLES = r'''
- name: Two L40S-24Q vGPUs on every L40S, with all VFs enabled
  gpuprep.host.apply:
    layout:
      version: 1
      sriov:
        - match: {vendor: "10de", device: "26b9"}
          vfs: max
      vgpus:
        - match: {vendor: "10de", device: "26b9"}
          type: L40S-24Q
          count: 2
    persist: true

- name: The site's layout file, the profile chosen per host
  gpuprep.host.apply:
    config: /etc/gpuprep/gpuprep.yaml
    profile: "{{ gpu_profile | default(omit) }}"

- name: Assert only (for monitoring); changed means the host differs
  gpuprep.host.apply:
    config: /etc/gpuprep/gpuprep.yaml
  check_mode: true
  register: drift
'''

RETURN = r'''
changed:
  description: Whether the host differed from the layout (check mode) or was changed.
  returned: always
  type: bool
rc:
  description: gpuprep's exit status (in check mode 1 means the host differs).
  returned: always
  type: int
  sample: 0
steps:
  description: Every step gpuprep planned or took, in order.
  returned: always
  type: list
  elements: dict
  sample: [{"action": "write", "path": "/sys/bus/pci/devices/0000:a1:00.0/sriov_numvfs", "value": "32", "done": true, "error": null}]
rollback:
  description: The steps that put the host back after a failure.
  returned: always
  type: list
  elements: dict
created:
  description: The vGPUs made (planned ones in check mode).
  returned: always
  type: list
  elements: dict
destroyed:
  description: The vGPUs removed.
  returned: always
  type: list
  elements: dict
pending:
  description: vGPUs that can only be planned once the VFs they go on exist (check mode).
  returned: always
  type: list
  elements: str
diff:
  description: What the host has of what the layout mentions, before and after.
  returned: always
  type: dict
  contains:
    before:
      description: passthrough (address to driver), sriov (GPU to VFs), vgpus (GPU or parent to type to count).
      type: dict
    after:
      description: The same, after the change (or as it would be).
      type: dict
report:
  description: gpuprep's whole JSON report.
  returned: when gpuprep printed one
  type: dict
'''

import json
import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpuprep.host.plugins.module_utils.gpuprep import run_json


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config=dict(type='path'),
            layout=dict(type='dict'),
            profile=dict(type='str'),
            root=dict(type='path', default='/'),
            binary=dict(type='str', default='gpuprep'),
            persist=dict(type='bool', default=False),
        ),
        mutually_exclusive=[('config', 'layout')],
        supports_check_mode=True,
    )
    arguments = ['apply']
    inline = None
    if module.params['layout'] is not None:
        # JSON is YAML: gpuprep reads the mapping as written, with line numbers in its errors.
        handle, inline = tempfile.mkstemp(prefix='gpuprep-layout-', suffix='.yaml')
        with os.fdopen(handle, 'w') as f:
            json.dump(module.params['layout'], f, indent=2)
        arguments += ['-f', inline]
    elif module.params['config']:
        arguments += ['-f', module.params['config']]
    if module.params['profile']:
        arguments += ['--profile', module.params['profile']]
    if module.params['persist']:
        arguments.append('--persist')
    if module.check_mode:
        arguments.append('--check')
    try:
        rc, report, error = run_json(module, arguments, allowed=(0, 1) if module.check_mode else (0,))
    finally:
        if inline:
            os.unlink(inline)
    report = report or {}
    result = dict(
        changed=bool(report.get('changed', False)) if error is None else False,
        rc=rc,
        steps=report.get('steps', []),
        rollback=report.get('rollback', []),
        created=report.get('created', []),
        destroyed=report.get('destroyed', []),
        pending=report.get('pending', []),
        diff=report.get('diff', {'before': {}, 'after': {}}),
    )
    if report:
        result['report'] = report
    if error is None and report.get('refused'):
        # --check says a layout the host cannot be taken to as a difference (exit 1, for
        # monitoring); a task fails on it, as the run itself would.
        error = '; '.join(report['refused'])
    if error is not None:
        # An inline layout is read from a temporary file: name it as the task does.
        module.fail_json(msg=error.replace(inline, 'layout') if inline else error, **result)
    # In check mode rc 1 means "differs", which is no failure: say so, since Ansible takes a
    # result with a non-zero rc for a failed one unless told.
    module.exit_json(failed=False, **result)


if __name__ == '__main__':
    main()
