# check --fix --regenerate on the live kernel: the edit, then the boot loader's own command, found
# on PATH (stand-ins that log their arguments and print on both outputs), run once, its output
# kept; one that fails is exit 74 with the edit and its backup kept. /etc/default is a tmpfs here
# (the host's / is read-only), so the GRUB file is this scenario's own.
mount -t tmpfs tmpfs $H/etc/default
mkdir -p $H/tmp/standin
cat > $H/tmp/standin/grub-mkconfig <<'SH'
#!/bin/sh
echo "${0##*/} $*" >> /tmp/regenerate.log
echo "Generating grub configuration file ..." >&2
[ -e /tmp/regenerate.fail ] && { echo "grub-mkconfig: error: cannot write /boot/grub/grub.cfg.new: No space left on device" >&2; exit 1; }
echo done
SH
chmod 755 $H/tmp/standin/grub-mkconfig
# Whichever GRUB program this host's layout names (update-grub on Debian, grub2-mkconfig on Fedora).
ln -s grub-mkconfig $H/tmp/standin/update-grub; ln -s grub-mkconfig $H/tmp/standin/grub2-mkconfig
gpr() { PATH=/tmp/standin:/usr/sbin:/usr/bin:/sbin:/bin chroot $H "$GPUPREP" "$@"; }
printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX=""\n' > $H/etc/default/grub

gpr check --fix --regenerate --no-color > /tmp/out.txt 2>&1; rc=$?
check "check --fix --regenerate: exit 0, the edit made, the GRUB program run once from PATH" sh -c \
  "[ $rc = 0 ] && grep -q 'GRUB_CMDLINE_LINUX_DEFAULT=\"quiet .*iommu=pt\"' $H/etc/default/grub && [ \$(wc -l < $H/tmp/regenerate.log) = 1 ]"
check "what it printed, on either output, is shown under it" sh -c \
  "grep -q '^\[ran\] /tmp/standin/' /tmp/out.txt && grep -q '  | Generating grub configuration file ...' /tmp/out.txt && grep -q '  | done' /tmp/out.txt"
gpr check --fix --regenerate > /tmp/out.txt 2>&1; rc=$?
check "the second time: nothing to fix, nothing run" sh -c "[ $rc = 0 ] && grep -q 'Nothing to fix' /tmp/out.txt && [ \$(wc -l < $H/tmp/regenerate.log) = 1 ]"

printf 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX=""\n' > $H/etc/default/grub
rm -f $H/etc/default/grub.gpuprep-bak; touch $H/tmp/regenerate.fail
gpr check --fix --regenerate --json > /tmp/out.json 2> /tmp/err.txt; rc=$?
check "a GRUB program that fails: exit 74, regenerate-failed, its message in the error" sh -c \
  "[ $rc = 74 ] && grep -q 'regenerate-failed' /tmp/err.txt && grep -q 'No space left on device' /tmp/err.txt"
check "the edit and its backup are kept (nothing rolled back)" sh -c \
  "grep -q 'iommu=pt' $H/etc/default/grub && grep -q 'GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"' $H/etc/default/grub.gpuprep-bak"
rm -f $H/tmp/regenerate.fail
umount $H/etc/default
