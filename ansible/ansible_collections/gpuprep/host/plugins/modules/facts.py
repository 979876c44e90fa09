#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: the gpuprep authors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: facts
short_description: Gather what gpuprep knows of a GPU host as facts
version_added: "1.0.0"
description:
  - Runs gpuprep's read-only reports with C(--json) and returns them as C(ansible_facts.gpuprep),
    one key per report, each gpuprep's own JSON document (schema version 1).
  - C(check) exits 1 when a check fails; that is a finding, not a failure of the module.
author:
  - the gpuprep authors
extends_documentation_fragment:
  - gpuprep.host.gpuprep
options:
  gather:
    description:
      - The reports to gather.
    type: list
    elements: str
    choices: [list, check, iommu, types, vgpus]
    default: [list, check, iommu, types, vgpus]
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  facts:
    support: full
'''

EXAMPLES = r'''
- name: What the GPU hosts have
  gpuprep.host.facts:

- name: Hosts whose IOMMU check fails
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }}: {{ ansible_facts.gpuprep.check.findings | selectattr('status', 'equalto', 'fail') | map(attribute='summary') | list }}"

- name: Only the vGPU types and instances
  gpuprep.host.facts:
    gather: [types, vgpus]
'''

RETURN = r'''
ansible_facts:
  description: The reports.
  returned: always
  type: complex
  contains:
    gpuprep:
      description: One key per report gathered (list, check, iommu, types, vgpus), each gpuprep's JSON document.
      type: dict
      sample: {"list": {"schemaVersion": 1, "devices": []}, "vgpus": {"schemaVersion": 1, "vgpus": []}}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpuprep.host.plugins.module_utils.gpuprep import run_json

# A failed check (1) is a finding; list without --all shows NVIDIA devices, with it every function.
ARGUMENTS = {
    'list': (['list', '--all'], (0,)),
    'check': (['check'], (0, 1)),
    'iommu': (['iommu'], (0,)),
    'types': (['types'], (0,)),
    'vgpus': (['vgpus'], (0,)),
}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            gather=dict(type='list', elements='str', choices=list(ARGUMENTS), default=list(ARGUMENTS)),
            root=dict(type='path', default='/'),
            binary=dict(type='str', default='gpuprep'),
        ),
        supports_check_mode=True,
    )
    facts = {}
    for name in module.params['gather']:
        arguments, allowed = ARGUMENTS[name]
        rc, report, error = run_json(module, arguments, allowed=allowed)
        if error is not None:
            module.fail_json(msg='gpuprep %s: %s' % (name, error), rc=rc)
        facts[name] = report
    module.exit_json(changed=False, ansible_facts=dict(gpuprep=facts))


if __name__ == '__main__':
    main()
