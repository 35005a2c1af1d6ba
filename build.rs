//! Generates a typed progenitor client for every OpenAPI document in `spec/`.

use std::{env, fs, path::Path};

fn main() {
    let out_dir = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    println!("cargo:rerun-if-changed=spec");
    // The bundled fixtures are embedded with include_dir, which cannot watch them itself.
    println!("cargo:rerun-if-changed=fixtures");
    let mut specs: Vec<_> = fs::read_dir("spec")
        .expect("spec/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    specs.sort();
    for path in specs {
        let stem = path.file_stem().unwrap().to_string_lossy().replace('-', "_");
        let code = generate(&path);
        fs::write(Path::new(&out_dir).join(format!("{stem}.rs")), code).unwrap();
    }
}

fn generate(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    let value: serde_json::Value =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()));
    let spec: openapiv3::OpenAPI =
        serde_json::from_value(value).unwrap_or_else(|e| panic!("{}: not OpenAPI 3.0: {e}", path.display()));
    let mut settings = progenitor::GenerationSettings::default();
    settings.with_interface(progenitor::InterfaceStyle::Builder);
    let mut generator = progenitor::Generator::new(&settings);
    let tokens = generator.generate_tokens(&spec).unwrap_or_else(|e| panic!("{}: progenitor: {e}", path.display()));
    let file = syn::parse2(tokens).expect("progenitor emits valid Rust");
    prettyplease::unparse(&file)
}
