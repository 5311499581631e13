//! Native `pipeline_executor`: a thin wrapper over the library CLI.

// CPython's math module uses the same libm code as the wasm build.
pipeline_runtime::export_libm!();

fn main() {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let code = pipeline_runtime::cli::main_with_args(
        &args,
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code);
}
