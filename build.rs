fn main() {
    // napi-build links windows-gnu builds against `libnode.dll` and panics when it finds
    // none. Node's own Windows builds have no such DLL: node.exe exports Node-API itself,
    // and napi-sys resolves those functions from the loading executable at run time, so
    // this crate asks for no such link, and the addon loads in the official node.exe as
    // the `win32-x64-msvc` binary. (The `napi` crate's own build script still makes that
    // call for windows-gnu: the cross build points LIBNODE_PATH at a stub DLL, of which
    // nothing is imported.)
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if target_os == "windows" && target_env == "gnu" {
        return;
    }
    napi_build::setup();
}
