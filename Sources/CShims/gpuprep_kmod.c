#include "gpuprep_kmod.h"

#include <dlfcn.h>
#include <stddef.h>

/* The libkmod functions gpuprep calls, each as a pointer of the real declaration's type. */
#define GP_KMOD_FUNCTIONS(X) \
    X(kmod_new) X(kmod_unref) X(kmod_load_resources) X(kmod_set_log_priority) X(kmod_list_next) \
    X(kmod_module_new_from_lookup) X(kmod_module_new_from_name) X(kmod_module_get_module) \
    X(kmod_module_get_name) X(kmod_module_get_path) X(kmod_module_unref) X(kmod_module_unref_list) \
    X(kmod_module_get_info) X(kmod_module_info_get_key) X(kmod_module_info_get_value) \
    X(kmod_module_info_free_list) X(kmod_config_get_blacklists) X(kmod_config_iter_get_key) \
    X(kmod_config_iter_next) X(kmod_config_iter_free_iter) X(kmod_module_probe_insert_module)

#define GP_POINTER(name) static __typeof__(name) *p_##name;
GP_KMOD_FUNCTIONS(GP_POINTER)

/* 1: loaded, -1: cannot be (no library, or a function missing from it), 0: not tried yet. */
static int state;

static int gp_kmod_load(void)
{
    if (state != 0) return state;
    void *library = dlopen("libkmod.so.2", RTLD_LAZY | RTLD_LOCAL);
    if (!library) return state = -1;
#define GP_RESOLVE(name) if (!(p_##name = (__typeof__(name) *)dlsym(library, #name))) return state = -1;
    GP_KMOD_FUNCTIONS(GP_RESOLVE)
    return state = 1;
}

bool gp_kmod_loaded(void) { return gp_kmod_load() == 1; }

struct kmod_ctx *gp_kmod_new(const char *dirname, const char *const *config_paths)
{
    return gp_kmod_load() == 1 ? p_kmod_new(dirname, config_paths) : NULL;
}

struct kmod_ctx *gp_kmod_unref(struct kmod_ctx *ctx) { return p_kmod_unref(ctx); }
int gp_kmod_load_resources(struct kmod_ctx *ctx) { return p_kmod_load_resources(ctx); }
void gp_kmod_set_log_priority(struct kmod_ctx *ctx, int priority) { p_kmod_set_log_priority(ctx, priority); }
struct kmod_list *gp_kmod_list_next(const struct kmod_list *list, const struct kmod_list *curr) { return p_kmod_list_next(list, curr); }
int gp_kmod_module_new_from_lookup(struct kmod_ctx *ctx, const char *given_alias, struct kmod_list **list) { return p_kmod_module_new_from_lookup(ctx, given_alias, list); }
int gp_kmod_module_new_from_name(struct kmod_ctx *ctx, const char *name, struct kmod_module **mod) { return p_kmod_module_new_from_name(ctx, name, mod); }
struct kmod_module *gp_kmod_module_get_module(const struct kmod_list *entry) { return p_kmod_module_get_module(entry); }
const char *gp_kmod_module_get_name(const struct kmod_module *mod) { return p_kmod_module_get_name(mod); }
const char *gp_kmod_module_get_path(const struct kmod_module *mod) { return p_kmod_module_get_path(mod); }
struct kmod_module *gp_kmod_module_unref(struct kmod_module *mod) { return p_kmod_module_unref(mod); }
int gp_kmod_module_unref_list(struct kmod_list *list) { return p_kmod_module_unref_list(list); }
int gp_kmod_module_get_info(const struct kmod_module *mod, struct kmod_list **list) { return p_kmod_module_get_info(mod, list); }
const char *gp_kmod_module_info_get_key(const struct kmod_list *entry) { return p_kmod_module_info_get_key(entry); }
const char *gp_kmod_module_info_get_value(const struct kmod_list *entry) { return p_kmod_module_info_get_value(entry); }
void gp_kmod_module_info_free_list(struct kmod_list *list) { p_kmod_module_info_free_list(list); }
struct kmod_config_iter *gp_kmod_config_get_blacklists(const struct kmod_ctx *ctx) { return p_kmod_config_get_blacklists(ctx); }
const char *gp_kmod_config_iter_get_key(const struct kmod_config_iter *iter) { return p_kmod_config_iter_get_key(iter); }
bool gp_kmod_config_iter_next(struct kmod_config_iter *iter) { return p_kmod_config_iter_next(iter); }
void gp_kmod_config_iter_free_iter(struct kmod_config_iter *iter) { p_kmod_config_iter_free_iter(iter); }

int gp_kmod_module_probe_insert_module(struct kmod_module *mod, unsigned int flags, const char *extra_options)
{
    return p_kmod_module_probe_insert_module(mod, flags, extra_options, NULL, NULL, NULL);
}
