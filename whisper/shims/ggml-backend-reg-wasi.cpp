// ggml's backend registry for wasm32-wasi: replaces ggml-backend-reg.cpp and
// ggml-backend-dl.cpp, which find and dlopen() backend libraries through
// std::filesystem. WASI has neither dlopen nor (in zig's libc++) <filesystem>.
// Backends are linked statically (only the CPU backend here); the dynamic-loading
// entry points exist so that callers link, and report that loading is unavailable.
#include "ggml-backend-impl.h"
#include "ggml-backend.h"
#include "ggml-impl.h"

#include <cctype>
#include <vector>

#ifdef GGML_USE_CPU
#include "ggml-cpu.h"
#endif

namespace {

struct ggml_backend_registry {
    std::vector<ggml_backend_reg_t> backends;
    std::vector<ggml_backend_dev_t> devices;

    ggml_backend_registry() {
#ifdef GGML_USE_CPU
        register_backend(ggml_backend_cpu_reg());
#endif
    }

    void register_backend(ggml_backend_reg_t reg) {
        if (!reg) {
            return;
        }
        for (auto * known : backends) {
            if (known == reg) {
                return;
            }
        }
        backends.push_back(reg);
        for (size_t i = 0; i < ggml_backend_reg_dev_count(reg); i++) {
            register_device(ggml_backend_reg_dev_get(reg, i));
        }
    }

    void register_device(ggml_backend_dev_t device) {
        for (auto * known : devices) {
            if (known == device) {
                return;
            }
        }
        devices.push_back(device);
    }
};

ggml_backend_registry & get_reg() {
    static ggml_backend_registry reg;
    return reg;
}

bool striequals(const char * a, const char * b) {
    for (; *a && *b; a++, b++) {
        if (std::tolower((unsigned char) *a) != std::tolower((unsigned char) *b)) {
            return false;
        }
    }
    return *a == *b;
}

}  // namespace

void ggml_backend_register(ggml_backend_reg_t reg) {
    get_reg().register_backend(reg);
}

void ggml_backend_device_register(ggml_backend_dev_t device) {
    get_reg().register_device(device);
}

size_t ggml_backend_reg_count() {
    return get_reg().backends.size();
}

ggml_backend_reg_t ggml_backend_reg_get(size_t index) {
    GGML_ASSERT(index < ggml_backend_reg_count());
    return get_reg().backends[index];
}

ggml_backend_reg_t ggml_backend_reg_by_name(const char * name) {
    for (auto * reg : get_reg().backends) {
        if (striequals(ggml_backend_reg_name(reg), name)) {
            return reg;
        }
    }
    return nullptr;
}

size_t ggml_backend_dev_count() {
    return get_reg().devices.size();
}

ggml_backend_dev_t ggml_backend_dev_get(size_t index) {
    GGML_ASSERT(index < ggml_backend_dev_count());
    return get_reg().devices[index];
}

ggml_backend_dev_t ggml_backend_dev_by_name(const char * name) {
    for (auto * dev : get_reg().devices) {
        if (striequals(ggml_backend_dev_name(dev), name)) {
            return dev;
        }
    }
    return nullptr;
}

ggml_backend_dev_t ggml_backend_dev_by_type(enum ggml_backend_dev_type type) {
    for (auto * dev : get_reg().devices) {
        if (ggml_backend_dev_type(dev) == type) {
            return dev;
        }
    }
    return nullptr;
}

ggml_backend_t ggml_backend_init_by_name(const char * name, const char * params) {
    ggml_backend_dev_t dev = ggml_backend_dev_by_name(name);
    return dev ? ggml_backend_dev_init(dev, params) : nullptr;
}

ggml_backend_t ggml_backend_init_by_type(enum ggml_backend_dev_type type, const char * params) {
    ggml_backend_dev_t dev = ggml_backend_dev_by_type(type);
    return dev ? ggml_backend_dev_init(dev, params) : nullptr;
}

ggml_backend_t ggml_backend_init_best(void) {
    ggml_backend_dev_t dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_GPU);
    dev = dev ? dev : ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_IGPU);
    dev = dev ? dev : ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    return dev ? ggml_backend_dev_init(dev, nullptr) : nullptr;
}

// Dynamic loading: not available in wasm32-wasi.
ggml_backend_reg_t ggml_backend_load(const char * path) {
    GGML_LOG_ERROR("%s: cannot load %s: dynamic backend loading is not available in wasm32-wasi\n", __func__,
                   path ? path : "(null)");
    return nullptr;
}

void ggml_backend_unload(ggml_backend_reg_t reg) {
    GGML_UNUSED(reg);
}

void ggml_backend_load_all() {}

void ggml_backend_load_all_from_path(const char * dir_path) {
    GGML_UNUSED(dir_path);
}
