# -*- coding: utf-8 -*-
# Copyright: the gpuprep authors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options every gpuprep.host module takes: where gpuprep is, and the root it works on.
    DOCUMENTATION = r'''
options:
  root:
    description:
      - The host root gpuprep reads and changes (a captured or fake host tree for tests).
    type: path
    default: /
  binary:
    description:
      - The gpuprep program (a name on PATH or a path).
    type: str
    default: gpuprep
requirements:
  - gpuprep and gpuprep-yaml on the managed host (C(make install))
'''
