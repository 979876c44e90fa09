function __gpuprep_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __gpuprep_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __gpuprep_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __gpuprep_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __gpuprep_parse_tokens -S
    set -l unparsed_tokens (__gpuprep_tokens -pc)
    switch $unparsed_tokens[1]
    case 'gpuprep'
        __gpuprep_parse_subcommand 0 'version' 'h/help'
        switch $unparsed_tokens[1]
        case 'check'
            __gpuprep_parse_subcommand 0 'root=' 'json' 'no-color' 'pci-ids=' 'fix' 'dry-run' 'regenerate' 'no-regenerate' 'rom' 'version' 'h/help'
        case 'list'
            __gpuprep_parse_subcommand -r 1 'root=' 'json' 'no-color' 'pci-ids=' 'all' 'version' 'h/help'
        case 'iommu'
            __gpuprep_parse_subcommand 0 'root=' 'json' 'no-color' 'pci-ids=' 'nvidia' 'version' 'h/help'
        case 'conflicts'
            __gpuprep_parse_subcommand -r 1 'root=' 'json' 'no-color' 'pci-ids=' 'version' 'h/help'
        case 'bind'
            __gpuprep_parse_subcommand -r 1 'root=' 'json' 'no-color' 'pci-ids=' 'dry-run' 'force' 'no-companions' 'persist' 'release' 'release-display' 'regenerate' 'no-regenerate' 'driver=' 'next-boot' 'version' 'h/help'
        case 'unbind'
            __gpuprep_parse_subcommand -r 1 'root=' 'json' 'no-color' 'pci-ids=' 'dry-run' 'force' 'no-companions' 'persist' 'release' 'release-display' 'regenerate' 'no-regenerate' 'version' 'h/help'
        case 'types'
            __gpuprep_parse_subcommand 0 'root=' 'json' 'no-color' 'pci-ids=' 'parent=' 'available' 'version' 'h/help'
        case 'vgpus'
            __gpuprep_parse_subcommand 0 'root=' 'json' 'no-color' 'pci-ids=' 'version' 'h/help'
        case 'create'
            __gpuprep_parse_subcommand 0 'root=' 'json' 'no-color' 'pci-ids=' 'type=' 'parent=' 'count=' 'placement=' 'uuid=' 'persist' 'dry-run' 'version' 'h/help'
        case 'destroy'
            __gpuprep_parse_subcommand -r 1 'root=' 'json' 'no-color' 'pci-ids=' 'all' 'parent=' 'force' 'persist' 'dry-run' 'version' 'h/help'
        case 'sriov'
            __gpuprep_parse_subcommand 0 'version' 'h/help'
            switch $unparsed_tokens[1]
            case 'enable'
                __gpuprep_parse_subcommand 1 'root=' 'json' 'no-color' 'pci-ids=' 'count=' 'force' 'persist' 'dry-run' 'release' 'release-display' 'version' 'h/help'
            case 'disable'
                __gpuprep_parse_subcommand 1 'root=' 'json' 'no-color' 'pci-ids=' 'force' 'persist' 'dry-run' 'release' 'release-display' 'version' 'h/help'
            end
        case 'apply'
            __gpuprep_parse_subcommand 0 'root=' 'json' 'no-color' 'pci-ids=' 'f/file=' 'profile=' 'dry-run' 'check' 'boot' 'wait=' 'persist' 'next-boot' 'release' 'release-display' 'regenerate' 'no-regenerate' 'version' 'h/help'
        case 'export'
            __gpuprep_parse_subcommand -r 2 'root=' 'json' 'no-color' 'pci-ids=' 'node=' 'version' 'h/help'
        case 'doctor'
            __gpuprep_parse_subcommand 1 'root=' 'json' 'no-color' 'pci-ids=' 'for=' 'version' 'h/help'
        case 'capture'
            __gpuprep_parse_subcommand 0 'root=' 'json' 'no-color' 'pci-ids=' 'o/output=' 'max-mib=' 'timeout=' 'version' 'h/help'
        case 'metrics'
            __gpuprep_parse_subcommand 0 'root=' 'json' 'no-color' 'pci-ids=' 'textfile=' 'version' 'h/help'
        case 'help'
            __gpuprep_parse_subcommand -r 1 'version'
        end
    end
end

function __gpuprep_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __gpuprep_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __gpuprep_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __gpuprep_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__gpuprep_tokens -p)
    if test -z "$(__gpuprep_tokens -t)"
        set -l index (count (__gpuprep_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'gpuprep' -f
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep" version' -l 'version' -d 'Show the version.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep" -eq 1' -fa 'check' -d 'Say whether this host is ready for GPU passthrough and vGPU, and what to do.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep" -eq 1' -fa 'list' -d 'List NVIDIA GPUs, their VFs, companion functions and NVSwitches.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep" -eq 1' -fa 'iommu' -d 'Show every IOMMU group, its members, and whether VFIO can take it.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep" -eq 1' -fa 'conflicts' -d 'Say what stops each NVIDIA GPU (or the given devices) from being assigned to a VM.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep" -eq 1' -fa 'bind' -d 'Move devices to vfio-pci (or a VFIO variant driver), safely and verified.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep" -eq 1' -fa 'unbind' -d 'Return devices from vfio-pci to their host drivers, verified.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep" -eq 1' -fa 'types' -d 'List the vGPU types every parent offers, over mdev and NVIDIA\'s per-VF interface.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep" -eq 1' -fa 'vgpus' -d 'List the vGPUs that exist, with their types resolved to names.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep" -eq 1' -fa 'create' -d 'Create vGPUs of a type: mdev instances, or NVIDIA vGPU 17+ types on SR-IOV VFs.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep" -eq 1' -fa 'destroy' -d 'Destroy vGPUs: mdev UUIDs, or VFs carrying an nvidia-vfio vGPU.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep" -eq 1' -fa 'sriov' -d 'Enable or disable a GPU\'s SR-IOV VFs (NVIDIA vGPU 17+ makes vGPUs on VFs).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep" -eq 1' -fa 'apply' -d 'Take the host to the layout in one declarative file: bindings, VFs and vGPUs, verified, with one rollback.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep" -eq 1' -fa 'export' -d 'Print the configuration a virtualization stack needs for what this host has prepared.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep" -eq 1' -fa 'doctor' -d 'Say why a GPU cannot be passed through or offers no vGPU: the first cause, its evidence and its remedy.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep" -eq 1' -fa 'capture' -d 'Copy the host files gpuprep reads into a tree or archive that --root replays: a bug report anyone can run every command on.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep" -eq 1' -fa 'metrics' -d 'Print the host\'s passthrough and vGPU state as Prometheus metrics.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep check" root' -l 'root' -d 'Treat DIR as / for every host file (env GPUPREP_ROOT; default /).' -rfa '(__gpuprep_complete_directories)'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep check" json' -l 'json' -d 'Print one JSON document on standard output (errors as JSON on standard error).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep check" no-color' -l 'no-color' -d 'Plain output (also when NO_COLOR is set or output is not a terminal).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep check" pci-ids' -l 'pci-ids' -d 'Read device names from FILE instead of the system pci.ids (as lspci -i; env GPUPREP_PCI_IDS).' -rF
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep check" fix' -l 'fix' -d 'Add the missing IOMMU arguments to the boot loader\'s configuration, and blacklist nouveau where it would claim NVIDIA GPUs.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep check" dry-run' -l 'dry-run' -d 'With --fix: show the edit as a unified diff and change nothing.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep check" regenerate' -l 'regenerate' -d 'Then run this host\'s own commands that rebuild what boots from the files written (update-initramfs, dracut or mkinitcpio; update-grub, grub2-mkconfig, grubby, kernel-install, proxmox-boot-tool or kernelstub).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep check" no-regenerate' -l 'no-regenerate' -d 'Then run this host\'s own commands that rebuild what boots from the files written (update-initramfs, dracut or mkinitcpio; update-grub, grub2-mkconfig, grubby, kernel-install, proxmox-boot-tool or kernelstub).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep check" rom' -l 'rom' -d 'Also read each GPU\'s expansion ROM for a UEFI image (gpu.rom), which a UEFI (OVMF) VM needs to show output early.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep check" version' -l 'version' -d 'Show the version.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep check" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep list" root' -l 'root' -d 'Treat DIR as / for every host file (env GPUPREP_ROOT; default /).' -rfa '(__gpuprep_complete_directories)'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep list" json' -l 'json' -d 'Print one JSON document on standard output (errors as JSON on standard error).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep list" no-color' -l 'no-color' -d 'Plain output (also when NO_COLOR is set or output is not a terminal).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep list" pci-ids' -l 'pci-ids' -d 'Read device names from FILE instead of the system pci.ids (as lspci -i; env GPUPREP_PCI_IDS).' -rF
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep list" all' -l 'all' -d 'List every PCI function, not only NVIDIA ones.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep list" -ge 1' -fka '(__gpuprep_custom_completion ---completion list -- positional@0 (count (__gpuprep_tokens -pc)) (__gpuprep_tokens -tC))'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep list" version' -l 'version' -d 'Show the version.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep list" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep iommu" root' -l 'root' -d 'Treat DIR as / for every host file (env GPUPREP_ROOT; default /).' -rfa '(__gpuprep_complete_directories)'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep iommu" json' -l 'json' -d 'Print one JSON document on standard output (errors as JSON on standard error).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep iommu" no-color' -l 'no-color' -d 'Plain output (also when NO_COLOR is set or output is not a terminal).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep iommu" pci-ids' -l 'pci-ids' -d 'Read device names from FILE instead of the system pci.ids (as lspci -i; env GPUPREP_PCI_IDS).' -rF
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep iommu" nvidia' -l 'nvidia' -d 'Only the groups that hold an NVIDIA function.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep iommu" version' -l 'version' -d 'Show the version.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep iommu" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep conflicts" root' -l 'root' -d 'Treat DIR as / for every host file (env GPUPREP_ROOT; default /).' -rfa '(__gpuprep_complete_directories)'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep conflicts" json' -l 'json' -d 'Print one JSON document on standard output (errors as JSON on standard error).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep conflicts" no-color' -l 'no-color' -d 'Plain output (also when NO_COLOR is set or output is not a terminal).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep conflicts" pci-ids' -l 'pci-ids' -d 'Read device names from FILE instead of the system pci.ids (as lspci -i; env GPUPREP_PCI_IDS).' -rF
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep conflicts" -ge 1' -fka '(__gpuprep_custom_completion ---completion conflicts -- positional@0 (count (__gpuprep_tokens -pc)) (__gpuprep_tokens -tC))'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep conflicts" version' -l 'version' -d 'Show the version.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep conflicts" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep bind" root' -l 'root' -d 'Treat DIR as / for every host file (env GPUPREP_ROOT; default /).' -rfa '(__gpuprep_complete_directories)'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep bind" json' -l 'json' -d 'Print one JSON document on standard output (errors as JSON on standard error).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep bind" no-color' -l 'no-color' -d 'Plain output (also when NO_COLOR is set or output is not a terminal).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep bind" pci-ids' -l 'pci-ids' -d 'Read device names from FILE instead of the system pci.ids (as lspci -i; env GPUPREP_PCI_IDS).' -rF
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep bind" dry-run' -l 'dry-run' -d 'Print every write in order and change nothing.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep bind" force' -l 'force' -d 'Go ahead despite the safety checks that say --force overrides them.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep bind" no-companions' -l 'no-companions' -d 'Leave the other functions of a GPU\'s card (audio, USB, UCSI) where they are.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep bind" persist' -l 'persist' -d 'Make it last across reboots: per-device udev rules and early module loading (bind), or remove them (unbind).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep bind" release' -l 'release' -d 'Stop NVIDIA\'s services that hold the devices (nvidia-persistenced, nvidia-fabricmanager) for the change, and start them again after, also when it fails or is interrupted.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep bind" release-display' -l 'release-display' -d 'Also stop the display manager (and with it the display server holding a GPU) for the change, and start it again after.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep bind" regenerate' -l 'regenerate' -d 'Then run this host\'s own commands that rebuild what boots from the files written (update-initramfs, dracut or mkinitcpio; update-grub, grub2-mkconfig, grubby, kernel-install, proxmox-boot-tool or kernelstub).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep bind" no-regenerate' -l 'no-regenerate' -d 'Then run this host\'s own commands that rebuild what boots from the files written (update-initramfs, dracut or mkinitcpio; update-grub, grub2-mkconfig, grubby, kernel-install, proxmox-boot-tool or kernelstub).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep bind" driver' -l 'driver' -d 'vfio-pci, auto (the most specific VFIO variant driver whose vfio_pci: alias matches), or a module name.' -rfka '(__gpuprep_custom_completion ---completion bind -- --driver (count (__gpuprep_tokens -pc)) (__gpuprep_tokens -tC))'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep bind" next-boot' -l 'next-boot' -d 'Leave the running drivers as they are: write the early binding files (as --persist does) so that the devices bind at the next boot.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep bind" -ge 1' -fka '(__gpuprep_custom_completion ---completion bind -- positional@0 (count (__gpuprep_tokens -pc)) (__gpuprep_tokens -tC))'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep bind" version' -l 'version' -d 'Show the version.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep bind" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep unbind" root' -l 'root' -d 'Treat DIR as / for every host file (env GPUPREP_ROOT; default /).' -rfa '(__gpuprep_complete_directories)'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep unbind" json' -l 'json' -d 'Print one JSON document on standard output (errors as JSON on standard error).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep unbind" no-color' -l 'no-color' -d 'Plain output (also when NO_COLOR is set or output is not a terminal).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep unbind" pci-ids' -l 'pci-ids' -d 'Read device names from FILE instead of the system pci.ids (as lspci -i; env GPUPREP_PCI_IDS).' -rF
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep unbind" dry-run' -l 'dry-run' -d 'Print every write in order and change nothing.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep unbind" force' -l 'force' -d 'Go ahead despite the safety checks that say --force overrides them.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep unbind" no-companions' -l 'no-companions' -d 'Leave the other functions of a GPU\'s card (audio, USB, UCSI) where they are.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep unbind" persist' -l 'persist' -d 'Make it last across reboots: per-device udev rules and early module loading (bind), or remove them (unbind).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep unbind" release' -l 'release' -d 'Stop NVIDIA\'s services that hold the devices (nvidia-persistenced, nvidia-fabricmanager) for the change, and start them again after, also when it fails or is interrupted.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep unbind" release-display' -l 'release-display' -d 'Also stop the display manager (and with it the display server holding a GPU) for the change, and start it again after.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep unbind" regenerate' -l 'regenerate' -d 'Then run this host\'s own commands that rebuild what boots from the files written (update-initramfs, dracut or mkinitcpio; update-grub, grub2-mkconfig, grubby, kernel-install, proxmox-boot-tool or kernelstub).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep unbind" no-regenerate' -l 'no-regenerate' -d 'Then run this host\'s own commands that rebuild what boots from the files written (update-initramfs, dracut or mkinitcpio; update-grub, grub2-mkconfig, grubby, kernel-install, proxmox-boot-tool or kernelstub).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep unbind" -ge 1' -fka '(__gpuprep_custom_completion ---completion unbind -- positional@0 (count (__gpuprep_tokens -pc)) (__gpuprep_tokens -tC))'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep unbind" version' -l 'version' -d 'Show the version.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep unbind" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep types" root' -l 'root' -d 'Treat DIR as / for every host file (env GPUPREP_ROOT; default /).' -rfa '(__gpuprep_complete_directories)'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep types" json' -l 'json' -d 'Print one JSON document on standard output (errors as JSON on standard error).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep types" no-color' -l 'no-color' -d 'Plain output (also when NO_COLOR is set or output is not a terminal).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep types" pci-ids' -l 'pci-ids' -d 'Read device names from FILE instead of the system pci.ids (as lspci -i; env GPUPREP_PCI_IDS).' -rF
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep types" parent' -l 'parent' -d 'Only this parent: an mdev parent or VF, a GPU (with its VFs), or a non-PCI mdev parent\'s name (mtty).' -rfka '(__gpuprep_custom_completion ---completion types -- --parent (count (__gpuprep_tokens -pc)) (__gpuprep_tokens -tC))'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep types" available' -l 'available' -d 'Only types that can still be created: the parent offers one and its GPU has room.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep types" version' -l 'version' -d 'Show the version.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep types" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep vgpus" root' -l 'root' -d 'Treat DIR as / for every host file (env GPUPREP_ROOT; default /).' -rfa '(__gpuprep_complete_directories)'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep vgpus" json' -l 'json' -d 'Print one JSON document on standard output (errors as JSON on standard error).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep vgpus" no-color' -l 'no-color' -d 'Plain output (also when NO_COLOR is set or output is not a terminal).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep vgpus" pci-ids' -l 'pci-ids' -d 'Read device names from FILE instead of the system pci.ids (as lspci -i; env GPUPREP_PCI_IDS).' -rF
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep vgpus" version' -l 'version' -d 'Show the version.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep vgpus" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep create" root' -l 'root' -d 'Treat DIR as / for every host file (env GPUPREP_ROOT; default /).' -rfa '(__gpuprep_complete_directories)'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep create" json' -l 'json' -d 'Print one JSON document on standard output (errors as JSON on standard error).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep create" no-color' -l 'no-color' -d 'Plain output (also when NO_COLOR is set or output is not a terminal).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep create" pci-ids' -l 'pci-ids' -d 'Read device names from FILE instead of the system pci.ids (as lspci -i; env GPUPREP_PCI_IDS).' -rF
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep create" type' -l 'type' -d 'The type: an id or a name (see gpuprep types).' -rfka '(__gpuprep_custom_completion ---completion create -- --type (count (__gpuprep_tokens -pc)) (__gpuprep_tokens -tC))'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep create" parent' -l 'parent' -d 'Create on this parent only: an mdev parent, a VF, or a GPU (its VFs).' -rfka '(__gpuprep_custom_completion ---completion create -- --parent (count (__gpuprep_tokens -pc)) (__gpuprep_tokens -tC))'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep create" count' -l 'count' -d 'How many to create.' -rfka ''
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep create" placement' -l 'placement' -d 'Without a single parent: spread (the GPU with most room first) or pack (the fullest GPU that fits).' -rfka 'spread pack'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep create" uuid' -l 'uuid' -d 'The mdev\'s UUID (one vGPU; a new random one otherwise).' -rfka ''
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep create" persist' -l 'persist' -d 'Also bring them back at boot: mdevctl definitions (/etc/mdevctl.d), or udev rules for nvidia-vfio VFs.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep create" dry-run' -l 'dry-run' -d 'Print every write in order and change nothing.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep create" version' -l 'version' -d 'Show the version.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep create" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep destroy" root' -l 'root' -d 'Treat DIR as / for every host file (env GPUPREP_ROOT; default /).' -rfa '(__gpuprep_complete_directories)'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep destroy" json' -l 'json' -d 'Print one JSON document on standard output (errors as JSON on standard error).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep destroy" no-color' -l 'no-color' -d 'Plain output (also when NO_COLOR is set or output is not a terminal).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep destroy" pci-ids' -l 'pci-ids' -d 'Read device names from FILE instead of the system pci.ids (as lspci -i; env GPUPREP_PCI_IDS).' -rF
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep destroy" -ge 1' -fka '(__gpuprep_custom_completion ---completion destroy -- positional@0 (count (__gpuprep_tokens -pc)) (__gpuprep_tokens -tC))'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep destroy" all' -l 'all' -d 'Destroy every vGPU (of --parent, if given).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep destroy" parent' -l 'parent' -d 'With --all: only this parent\'s vGPUs.' -rfka '(__gpuprep_custom_completion ---completion destroy -- --parent (count (__gpuprep_tokens -pc)) (__gpuprep_tokens -tC))'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep destroy" force' -l 'force' -d 'Destroy even a vGPU a VM is using.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep destroy" persist' -l 'persist' -d 'Also remove their definitions for boot (mdevctl, udev rules).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep destroy" dry-run' -l 'dry-run' -d 'Print every write in order and change nothing.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep destroy" version' -l 'version' -d 'Show the version.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep destroy" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov" version' -l 'version' -d 'Show the version.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep sriov" -eq 1' -fa 'enable' -d 'Enable VFs (all of them unless --count), as NVIDIA\'s sriov-manage -e does; verified.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep sriov" -eq 1' -fa 'disable' -d 'Disable the VFs; refused while one carries a vGPU or is assigned through VFIO, unless --force.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov enable" root' -l 'root' -d 'Treat DIR as / for every host file (env GPUPREP_ROOT; default /).' -rfa '(__gpuprep_complete_directories)'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov enable" json' -l 'json' -d 'Print one JSON document on standard output (errors as JSON on standard error).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov enable" no-color' -l 'no-color' -d 'Plain output (also when NO_COLOR is set or output is not a terminal).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov enable" pci-ids' -l 'pci-ids' -d 'Read device names from FILE instead of the system pci.ids (as lspci -i; env GPUPREP_PCI_IDS).' -rF
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep sriov enable" -eq 1' -fka '(__gpuprep_custom_completion ---completion sriov enable -- positional@0 (count (__gpuprep_tokens -pc)) (__gpuprep_tokens -tC))'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov enable" count' -l 'count' -d 'How many VFs (default: sriov_totalvfs).' -rfka ''
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov enable" force' -l 'force' -d 'Change the count even when VFs carry vGPUs or are assigned through VFIO (a new count goes through 0).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov enable" persist' -l 'persist' -d 'Also enable them at boot, when the nvidia driver binds the GPU (a udev rule).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov enable" dry-run' -l 'dry-run' -d 'Print every write in order and change nothing.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov enable" release' -l 'release' -d 'Stop NVIDIA\'s services that hold the devices (nvidia-persistenced, nvidia-fabricmanager) for the change, and start them again after, also when it fails or is interrupted.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov enable" release-display' -l 'release-display' -d 'Also stop the display manager (and with it the display server holding a GPU) for the change, and start it again after.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov enable" version' -l 'version' -d 'Show the version.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov enable" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov disable" root' -l 'root' -d 'Treat DIR as / for every host file (env GPUPREP_ROOT; default /).' -rfa '(__gpuprep_complete_directories)'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov disable" json' -l 'json' -d 'Print one JSON document on standard output (errors as JSON on standard error).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov disable" no-color' -l 'no-color' -d 'Plain output (also when NO_COLOR is set or output is not a terminal).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov disable" pci-ids' -l 'pci-ids' -d 'Read device names from FILE instead of the system pci.ids (as lspci -i; env GPUPREP_PCI_IDS).' -rF
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep sriov disable" -eq 1' -fka '(__gpuprep_custom_completion ---completion sriov disable -- positional@0 (count (__gpuprep_tokens -pc)) (__gpuprep_tokens -tC))'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov disable" force' -l 'force' -d 'Disable even when VFs carry vGPUs or are assigned through VFIO.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov disable" persist' -l 'persist' -d 'Also remove the boot-time rule that enables them.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov disable" dry-run' -l 'dry-run' -d 'Print every write in order and change nothing.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov disable" release' -l 'release' -d 'Stop NVIDIA\'s services that hold the devices (nvidia-persistenced, nvidia-fabricmanager) for the change, and start them again after, also when it fails or is interrupted.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov disable" release-display' -l 'release-display' -d 'Also stop the display manager (and with it the display server holding a GPU) for the change, and start it again after.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov disable" version' -l 'version' -d 'Show the version.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep sriov disable" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep apply" root' -l 'root' -d 'Treat DIR as / for every host file (env GPUPREP_ROOT; default /).' -rfa '(__gpuprep_complete_directories)'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep apply" json' -l 'json' -d 'Print one JSON document on standard output (errors as JSON on standard error).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep apply" no-color' -l 'no-color' -d 'Plain output (also when NO_COLOR is set or output is not a terminal).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep apply" pci-ids' -l 'pci-ids' -d 'Read device names from FILE instead of the system pci.ids (as lspci -i; env GPUPREP_PCI_IDS).' -rF
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep apply" f file' -s 'f' -l 'file' -d 'The layout file (default: /etc/gpuprep/gpuprep.yaml under the root).' -rfa '(set -l exts \'yaml\' \'yml\' \'json\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep apply" profile' -l 'profile' -d 'Use this profile of the file (a vgpu-device-manager label).' -rfka ''
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep apply" dry-run' -l 'dry-run' -d 'Print the difference and every write in order, and change nothing.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep apply" check' -l 'check' -d 'Change nothing; exit 1 when the host differs from the file (for monitoring and CI).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep apply" boot' -l 'boot' -d 'Wait (bounded by --wait) for the devices, drivers and vGPU types the file needs: what the boot unit runs.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep apply" wait' -l 'wait' -d 'With --boot: the most seconds to wait.' -rfka ''
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep apply" persist' -l 'persist' -d 'Also make it hold at boot: install and enable gpuprep-apply.service, and write the passthrough devices\' early binding rules.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep apply" next-boot' -l 'next-boot' -d 'Change nothing on the running host: write what the next boot reads (as --persist does), and let the reboot apply the file.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep apply" release' -l 'release' -d 'Stop NVIDIA\'s services that hold the devices (nvidia-persistenced, nvidia-fabricmanager) for the change, and start them again after, also when it fails or is interrupted.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep apply" release-display' -l 'release-display' -d 'Also stop the display manager (and with it the display server holding a GPU) for the change, and start it again after.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep apply" regenerate' -l 'regenerate' -d 'Then run this host\'s own commands that rebuild what boots from the files written (update-initramfs, dracut or mkinitcpio; update-grub, grub2-mkconfig, grubby, kernel-install, proxmox-boot-tool or kernelstub).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep apply" no-regenerate' -l 'no-regenerate' -d 'Then run this host\'s own commands that rebuild what boots from the files written (update-initramfs, dracut or mkinitcpio; update-grub, grub2-mkconfig, grubby, kernel-install, proxmox-boot-tool or kernelstub).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep apply" version' -l 'version' -d 'Show the version.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep apply" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep export" root' -l 'root' -d 'Treat DIR as / for every host file (env GPUPREP_ROOT; default /).' -rfa '(__gpuprep_complete_directories)'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep export" json' -l 'json' -d 'Print one JSON document on standard output (errors as JSON on standard error).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep export" no-color' -l 'no-color' -d 'Plain output (also when NO_COLOR is set or output is not a terminal).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep export" pci-ids' -l 'pci-ids' -d 'Read device names from FILE instead of the system pci.ids (as lspci -i; env GPUPREP_PCI_IDS).' -rF
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep export" -eq 1' -fka 'kubevirt nova libvirt proxmox nfd'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep export" -ge 2' -fka '(__gpuprep_custom_completion ---completion export -- positional@1 (count (__gpuprep_tokens -pc)) (__gpuprep_tokens -tC))'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep export" node' -l 'node' -d 'proxmox: the node\'s name in the mappings (default: the host\'s name).' -rfka ''
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep export" version' -l 'version' -d 'Show the version.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep export" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep doctor" root' -l 'root' -d 'Treat DIR as / for every host file (env GPUPREP_ROOT; default /).' -rfa '(__gpuprep_complete_directories)'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep doctor" json' -l 'json' -d 'Print one JSON document on standard output (errors as JSON on standard error).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep doctor" no-color' -l 'no-color' -d 'Plain output (also when NO_COLOR is set or output is not a terminal).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep doctor" pci-ids' -l 'pci-ids' -d 'Read device names from FILE instead of the system pci.ids (as lspci -i; env GPUPREP_PCI_IDS).' -rF
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_positional "gpuprep doctor" -eq 1' -fka '(__gpuprep_custom_completion ---completion doctor -- positional@0 (count (__gpuprep_tokens -pc)) (__gpuprep_tokens -tC))'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep doctor" for' -l 'for' -d 'What the GPU is meant for: passthrough or vgpu.' -rfka 'passthrough vgpu'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep doctor" version' -l 'version' -d 'Show the version.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep doctor" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep capture" root' -l 'root' -d 'Treat DIR as / for every host file (env GPUPREP_ROOT; default /).' -rfa '(__gpuprep_complete_directories)'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep capture" json' -l 'json' -d 'Print one JSON document on standard output (errors as JSON on standard error).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep capture" no-color' -l 'no-color' -d 'Plain output (also when NO_COLOR is set or output is not a terminal).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep capture" pci-ids' -l 'pci-ids' -d 'Read device names from FILE instead of the system pci.ids (as lspci -i; env GPUPREP_PCI_IDS).' -rF
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep capture" o output' -s 'o' -l 'output' -d 'An archive (.tar, .tar.gz, .tar.xz, .tar.zst) or a new folder.' -rfa '(set -l exts \'zst\' \'gz\' \'xz\' \'tar\';for p in (string match -e -- \'*/\' (commandline -t);or printf \n)*.{$exts};printf %s\n $p;end;__fish_complete_directories (commandline -t) \'\')'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep capture" max-mib' -l 'max-mib' -d 'The most MiB to take.' -rfka ''
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep capture" timeout' -l 'timeout' -d 'The most seconds to spend.' -rfka ''
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep capture" version' -l 'version' -d 'Show the version.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep capture" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep metrics" root' -l 'root' -d 'Treat DIR as / for every host file (env GPUPREP_ROOT; default /).' -rfa '(__gpuprep_complete_directories)'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep metrics" json' -l 'json' -d 'Print one JSON document on standard output (errors as JSON on standard error).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep metrics" no-color' -l 'no-color' -d 'Plain output (also when NO_COLOR is set or output is not a terminal).'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep metrics" pci-ids' -l 'pci-ids' -d 'Read device names from FILE instead of the system pci.ids (as lspci -i; env GPUPREP_PCI_IDS).' -rF
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep metrics" textfile' -l 'textfile' -d 'Write DIR/gpuprep.prom for node_exporter\'s textfile collector instead of printing.' -rfa '(__gpuprep_complete_directories)'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep metrics" version' -l 'version' -d 'Show the version.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep metrics" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'gpuprep' -n '__gpuprep_should_offer_completions_for_flags_or_options "gpuprep help" version' -l 'version' -d 'Show the version.'
