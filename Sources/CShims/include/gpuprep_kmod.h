#ifndef GPUPREP_KMOD_H
#define GPUPREP_KMOD_H

#include <libkmod.h>
#include <stdbool.h>

/* libkmod, opened with dlopen on first use (libkmod.so.2) rather than linked: loading it pulls in
   libcrypto, libzstd and liblzma, about 2 ms of dynamic linking that commands which never look
   at modules (types, vgpus, create, --version, ...) should not pay. gp_kmod_new returns NULL when
   the library cannot be loaded; the other functions take what it made, so are only ever called
   once it has been. Each forwards to the libkmod function of the same name. */

/* Whether libkmod could be loaded (it is tried on the first gp_kmod_new). */
bool gp_kmod_loaded(void);

struct kmod_ctx *gp_kmod_new(const char *dirname, const char *const *config_paths);
struct kmod_ctx *gp_kmod_unref(struct kmod_ctx *ctx);
int gp_kmod_load_resources(struct kmod_ctx *ctx);
void gp_kmod_set_log_priority(struct kmod_ctx *ctx, int priority);
struct kmod_list *gp_kmod_list_next(const struct kmod_list *list, const struct kmod_list *curr);
int gp_kmod_module_new_from_lookup(struct kmod_ctx *ctx, const char *given_alias, struct kmod_list **list);
int gp_kmod_module_new_from_name(struct kmod_ctx *ctx, const char *name, struct kmod_module **mod);
struct kmod_module *gp_kmod_module_get_module(const struct kmod_list *entry);
const char *gp_kmod_module_get_name(const struct kmod_module *mod);
const char *gp_kmod_module_get_path(const struct kmod_module *mod);
struct kmod_module *gp_kmod_module_unref(struct kmod_module *mod);
int gp_kmod_module_unref_list(struct kmod_list *list);
int gp_kmod_module_get_info(const struct kmod_module *mod, struct kmod_list **list);
const char *gp_kmod_module_info_get_key(const struct kmod_list *entry);
const char *gp_kmod_module_info_get_value(const struct kmod_list *entry);
void gp_kmod_module_info_free_list(struct kmod_list *list);
struct kmod_config_iter *gp_kmod_config_get_blacklists(const struct kmod_ctx *ctx);
const char *gp_kmod_config_iter_get_key(const struct kmod_config_iter *iter);
bool gp_kmod_config_iter_next(struct kmod_config_iter *iter);
void gp_kmod_config_iter_free_iter(struct kmod_config_iter *iter);
int gp_kmod_module_probe_insert_module(struct kmod_module *mod, unsigned int flags, const char *extra_options);

#endif
