# -*- coding: utf-8 -*-
# Copyright: the gpuprep authors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Running gpuprep from a module: its JSON on standard output, its errors as JSON on standard
error (`{"schemaVersion": 1, "error": {"code", "message", "exitStatus"}}`), never its text."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os


def run_json(module, arguments, allowed=(0,)):
    """Runs gpuprep with --json; returns (rc, report or None, error message or None)."""
    binary = module.params['binary']
    path = module.get_bin_path(binary, required=False) if os.sep not in binary else binary
    if not path or not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return 127, None, 'cannot run %s: install gpuprep on the managed host (make install), or set binary' % binary
    command = [path] + arguments + ['--json', '--root', module.params['root']]
    rc, out, err = module.run_command(command, environ_update={'NO_COLOR': '1'})
    report = None
    if out.strip():
        try:
            report = json.loads(out)
        except ValueError:
            report = None
    if rc in allowed:
        if report is None:
            return rc, None, 'gpuprep printed no JSON report (%s): is %s gpuprep?' % (' '.join(command), binary)
        return rc, report, None
    return rc, report, error_message(rc, err, command)


def error_message(rc, err, command):
    """gpuprep's own message from its JSON error document; the raw text only if there is none."""
    for line in [err] + err.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if isinstance(document, dict) and isinstance(document.get('error'), dict):
            return document['error'].get('message') or 'gpuprep failed'
    return (err.strip() or 'gpuprep exited with status %d' % rc)
