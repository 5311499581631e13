// One-thread stand-ins for std::mutex, std::lock_guard, std::unique_lock and
// std::thread under wasm32-wasi (zig's libc++ has _LIBCPP_HAS_THREADS=0).
// Used by the <mutex> and <thread> shims next to this file.
#pragma once
#if defined(__wasi__) && !_LIBCPP_HAS_THREADS

#include <__mutex/tag_types.h>  // defer_lock_t, adopt_lock_t: declared even without threads
#include <chrono>
#include <functional>
#include <time.h>
#include <type_traits>
#include <utility>

namespace std {

class mutex {
public:
    constexpr mutex() noexcept = default;
    mutex(const mutex &) = delete;
    mutex & operator=(const mutex &) = delete;
    void lock() {}
    bool try_lock() { return true; }
    void unlock() {}
};

class recursive_mutex : public mutex {};

template <class Mutex>
class lock_guard {
public:
    using mutex_type = Mutex;
    explicit lock_guard(Mutex & m) : m_(m) { m_.lock(); }
    lock_guard(Mutex & m, adopt_lock_t) : m_(m) {}
    ~lock_guard() { m_.unlock(); }
    lock_guard(const lock_guard &) = delete;
    lock_guard & operator=(const lock_guard &) = delete;

private:
    Mutex & m_;
};

template <class Mutex>
class unique_lock {
public:
    using mutex_type = Mutex;
    unique_lock() noexcept = default;
    explicit unique_lock(Mutex & m) : m_(&m) { lock(); }
    unique_lock(Mutex & m, defer_lock_t) noexcept : m_(&m) {}
    unique_lock(Mutex & m, adopt_lock_t) noexcept : m_(&m), owns_(true) {}
    ~unique_lock() { if (owns_) m_->unlock(); }
    unique_lock(unique_lock && o) noexcept : m_(o.m_), owns_(o.owns_) { o.m_ = nullptr; o.owns_ = false; }
    unique_lock & operator=(unique_lock && o) noexcept {
        if (owns_) m_->unlock();
        m_ = o.m_; owns_ = o.owns_; o.m_ = nullptr; o.owns_ = false;
        return *this;
    }
    void lock() { m_->lock(); owns_ = true; }
    bool try_lock() { owns_ = m_->try_lock(); return owns_; }
    void unlock() { m_->unlock(); owns_ = false; }
    bool owns_lock() const noexcept { return owns_; }
    explicit operator bool() const noexcept { return owns_; }
    Mutex * mutex() const noexcept { return m_; }

private:
    Mutex * m_ = nullptr;
    bool owns_ = false;
};

class thread {
public:
    class id {
    public:
        id() noexcept = default;
        friend bool operator==(id a, id b) noexcept { return a.v_ == b.v_; }
        friend bool operator!=(id a, id b) noexcept { return a.v_ != b.v_; }
        friend bool operator<(id a, id b) noexcept { return a.v_ < b.v_; }

    private:
        friend class thread;
        explicit id(int v) noexcept : v_(v) {}
        int v_ = 0;
    };

    thread() noexcept = default;
    template <class F, class... Args,
              class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, thread>>>
    explicit thread(F && f, Args &&... args) {
        std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
        joinable_ = true;
    }
    thread(thread && o) noexcept : joinable_(o.joinable_) { o.joinable_ = false; }
    thread & operator=(thread && o) noexcept { joinable_ = o.joinable_; o.joinable_ = false; return *this; }
    thread(const thread &) = delete;
    thread & operator=(const thread &) = delete;
    ~thread() = default;

    bool joinable() const noexcept { return joinable_; }
    void join() { joinable_ = false; }
    void detach() { joinable_ = false; }
    id get_id() const noexcept { return joinable_ ? id(1) : id(); }
    static unsigned int hardware_concurrency() noexcept { return 1; }

private:
    bool joinable_ = false;
};

namespace this_thread {
inline thread::id get_id() noexcept { return thread::id(); }
inline void yield() noexcept {}
template <class Rep, class Period>
void sleep_for(const std::chrono::duration<Rep, Period> & d) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    if (ns <= 0) return;
    struct timespec ts;
    ts.tv_sec = (time_t) (ns / 1000000000);
    ts.tv_nsec = (long) (ns % 1000000000);
    nanosleep(&ts, nullptr);
}
}  // namespace this_thread

}  // namespace std

#endif
