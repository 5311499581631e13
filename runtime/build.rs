// With the `python` feature on a native target, add an rpath to the
// directory of the shared libpython pyo3 links against, so binaries and
// tests run without LD_LIBRARY_PATH. For wasm targets (static libpython),
// link the extra built-in Python modules (zlib, ...) when rmbuild names
// their archive.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-check-cfg=cfg(python_builtins)");
    #[cfg(feature = "whisper")]
    link_whisper();
    #[cfg(feature = "python")]
    {
        let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
        let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
        if os != "wasi" && !arch.starts_with("wasm") {
            pyo3_build_config::add_libpython_rpath_link_args();
        } else {
            link_python_builtins();
        }
    }
}

/// Folder with `librmpybuiltins.a` (rmbuild/build/wasm/builtins.py): C
/// extension modules missing from the static libpython, registered as
/// built-in modules before the interpreter starts.
#[cfg(feature = "python")]
const PYTHON_BUILTINS_ENV: &str = "PIPELINE_PYTHON_BUILTINS_DIR";

/// wasm + `python`: link `$PIPELINE_PYTHON_BUILTINS_DIR/librmpybuiltins.a`
/// and set `cfg(python_builtins)`, under which `python::init_interpreter`
/// calls its `rm_python_builtins_register()` before starting CPython.
/// Without the variable the module simply has no extra built-in modules.
#[cfg(feature = "python")]
fn link_python_builtins() {
    println!("cargo:rerun-if-env-changed={PYTHON_BUILTINS_ENV}");
    let Some(dir) = std::env::var_os(PYTHON_BUILTINS_ENV).map(std::path::PathBuf::from) else {
        return;
    };
    let file = dir.join("librmpybuiltins.a");
    if !file.is_file() {
        eprintln!(
            "error: {PYTHON_BUILTINS_ENV}={} has no librmpybuiltins.a",
            dir.display()
        );
        std::process::exit(1);
    }
    println!("cargo:rerun-if-changed={}", file.display());
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-lib=static:-bundle=rmpybuiltins");
    println!("cargo:rustc-cfg=python_builtins");
}

/// Folder with whisper.cpp's static archives, for the `whisper` feature.
#[cfg(feature = "whisper")]
const WHISPER_LIB_ENV: &str = "PIPELINE_WHISPER_LIB_DIR";

/// With the `whisper` feature, link whisper.cpp's static archives from
/// `$PIPELINE_WHISPER_LIB_DIR` (rmbuild sets it: `whisper.native_build()/lib`
/// natively, `whisper.wasm_build()/lib` for wasm32-wasip1) and the C++ runtime
/// they need (libstdc++ / libc++ natively; zig's libc++ in wasm, where zig is
/// the linker, so the module has one libc and one libc++).
#[cfg(feature = "whisper")]
fn link_whisper() {
    use std::path::PathBuf;
    println!("cargo:rerun-if-env-changed={WHISPER_LIB_ENV}");
    let Some(dir) = std::env::var_os(WHISPER_LIB_ENV).map(PathBuf::from) else {
        eprintln!(
            "error: the `whisper` feature links whisper.cpp's static libraries, but \
             {WHISPER_LIB_ENV} is not set. Set it to a folder holding libwhisper.a and \
             libggml*.a (`python -m rmbuild native-build` / `wasm-build` do this), or \
             build without the feature."
        );
        std::process::exit(1);
    };
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let wasm =
        os == "wasi" || std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a.starts_with("wasm"));
    // wasm: ggml and its CPU backend are one archive (rmbuild/build/whisper/builds.py).
    let archives: &[&str] = if wasm {
        &["whisper", "ggml"]
    } else {
        &["whisper", "ggml", "ggml-cpu", "ggml-base"]
    };
    for name in archives {
        let file = dir.join(format!("lib{name}.a"));
        if !file.is_file() {
            eprintln!(
                "error: {WHISPER_LIB_ENV}={} has no lib{name}.a (needed by the `whisper` feature)",
                dir.display()
            );
            std::process::exit(1);
        }
        println!("cargo:rerun-if-changed={}", file.display());
    }
    println!("cargo:rustc-link-search=native={}", dir.display());
    for name in archives {
        println!("cargo:rustc-link-lib=static:-bundle={name}");
    }
    if wasm {
        println!("cargo:rustc-link-lib=c++");
        println!("cargo:rustc-link-lib=wasi-emulated-mman");
    } else if os == "macos" {
        println!("cargo:rustc-link-lib=c++");
        // ggml's CPU backend uses Accelerate (vDSP) on Apple platforms by default
        println!("cargo:rustc-link-lib=framework=Accelerate");
    } else {
        println!("cargo:rustc-link-lib=stdc++");
    }
}
