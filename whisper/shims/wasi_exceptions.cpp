// C++ `throw` for wasm32-wasi without the wasm exception-handling proposal.
//
// zig compiles C++ for wasm32-wasi with -fexceptions, but its libc++abi for this
// target has no unwinder, so nothing defines __cxa_allocate_exception/__cxa_throw.
// whisper.cpp and its examples throw only on fatal errors (failed allocations,
// bad arguments, malformed grammars). Here a throw ends the program at once: it
// prints the exception's type and what() on stderr and aborts (a wasm trap), so the
// failure is visible and never silently ignored. catch blocks never run.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <typeinfo>

#if defined(__wasi__)

// The first virtual functions of libc++abi's type_info implementation class
// (src/private_typeinfo.h); used only to ask whether the thrown type derives
// from std::exception, exactly as a `catch (const std::exception &)` would.
namespace __cxxabiv1 {
class __shim_type_info : public std::type_info {
public:
    virtual ~__shim_type_info();
    virtual void noop1() const;
    virtual void noop2() const;
    virtual bool can_catch(const __shim_type_info * thrown_type, void *& adjusted_ptr) const = 0;
};
}  // namespace __cxxabiv1

extern "C" {

void * __cxa_allocate_exception(size_t size) noexcept {
    void * p = std::calloc(1, size ? size : 1);
    if (!p) {
        std::fputs("fatal: out of memory while throwing a C++ exception\n", stderr);
        std::abort();
    }
    return p;
}

void __cxa_free_exception(void * p) noexcept {
    std::free(p);
}

[[noreturn]] void __cxa_throw(void * thrown, std::type_info * type, void (*destructor)(void *)) {
    (void) destructor;
    using __cxxabiv1::__shim_type_info;
    const char * what = nullptr;
    void * adjusted = thrown;
    const auto * base = reinterpret_cast<const __shim_type_info *>(&typeid(std::exception));
    if (type && base->can_catch(reinterpret_cast<const __shim_type_info *>(type), adjusted)) {
        what = static_cast<const std::exception *>(adjusted)->what();
    }
    std::fprintf(stderr, "fatal: C++ exception %s%s%s (wasm32-wasi has no exception handling: aborting)\n",
                 type ? type->name() : "?", what ? ": " : "", what ? what : "");
    std::fflush(stderr);
    std::abort();
}

}  // extern "C"

#endif  // __wasi__
