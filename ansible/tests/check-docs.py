#!/usr/bin/env python3
"""The modules' documentation against their code, as ansible-test's validate-modules checks it
(which needs network access to set itself up): DOCUMENTATION, EXAMPLES and RETURN parse as
YAML; every option documented is in the argument_spec with the same type, default, choices
and elements, and the other way round; the examples use only documented options; and
ansible-doc renders each module.

usage: ANSIBLE_COLLECTIONS_PATH=ansible python3 ansible/tests/check-docs.py
"""
import importlib, os, subprocess, sys
import yaml
from ansible.module_utils import basic

modules = ["apply", "facts"]
failures = []

class Captured(Exception):
    pass

def argument_spec(name):
    """The module's AnsibleModule(...) arguments, caught before it reads any input."""
    seen = {}
    def capture(self, **kwargs):
        seen.update(kwargs)
        raise Captured()
    original = basic.AnsibleModule.__init__
    basic.AnsibleModule.__init__ = capture
    try:
        module = importlib.import_module(f"ansible_collections.gpuprep.host.plugins.modules.{name}")
        try:
            module.main()
        except Captured:
            pass
    finally:
        basic.AnsibleModule.__init__ = original
    return module, seen

for name in modules:
    module, spec = argument_spec(name)
    doc = yaml.safe_load(module.DOCUMENTATION)
    # Options from documentation fragments count as the module's, as ansible-doc merges them.
    for fragment in doc.get("extends_documentation_fragment", []):
        namespace, collection, fragment_name = fragment.split(".")
        fragment_module = importlib.import_module(f"ansible_collections.{namespace}.{collection}.plugins.doc_fragments.{fragment_name}")
        merged = yaml.safe_load(fragment_module.ModuleDocFragment.DOCUMENTATION)
        doc.setdefault("options", {}).update(merged.get("options", {}))
    examples = yaml.safe_load(module.EXAMPLES)
    returned = yaml.safe_load(module.RETURN)
    options = doc.get("options", {})
    code = spec["argument_spec"]
    for option in sorted(set(options) | set(code)):
        if option not in options:
            failures.append(f"{name}: option {option} is in the code, not documented")
            continue
        if option not in code:
            failures.append(f"{name}: option {option} is documented, not in the code")
            continue
        documented, actual = options[option], code[option]
        for key in ("type", "default", "choices", "elements"):
            if documented.get(key) != actual.get(key):
                failures.append(f"{name}: {option}.{key} is {documented.get(key)!r} in the documentation, {actual.get(key)!r} in the code")
        if not documented.get("description"):
            failures.append(f"{name}: option {option} has no description")
    if doc.get("module") != name:
        failures.append(f"{name}: DOCUMENTATION names module {doc.get('module')!r}")
    if not spec.get("supports_check_mode"):
        failures.append(f"{name}: does not support check mode")
    for example in examples:
        task = example.get(f"gpuprep.host.{name}")
        if task is None:
            continue
        for option in (task or {}):
            if option not in options:
                failures.append(f"{name}: example '{example.get('name')}' uses undocumented option {option}")
    if not isinstance(returned, dict) or not returned:
        failures.append(f"{name}: RETURN documents nothing")
    rendered = subprocess.run(["ansible-doc", f"gpuprep.host.{name}"], capture_output=True, text=True)
    if rendered.returncode != 0 or "OPTIONS" not in rendered.stdout:
        failures.append(f"{name}: ansible-doc fails: {rendered.stderr.strip()}")

for failure in failures:
    print("FAIL:", failure)
print(f"check-docs: {len(modules)} modules, {len(failures)} problems")
sys.exit(1 if failures else 0)
