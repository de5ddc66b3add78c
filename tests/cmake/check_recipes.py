#!/usr/bin/env python3
"""Checks packaging/conan and packaging/vcpkg through what they would do.

Neither Conan nor vcpkg runs here. Both drive the project's own `cmake --install`,
so this script reads the CMake variables each one passes (the Conan recipe's
generate(), the vcpkg portfile's vcpkg_check_features and vcpkg_cmake_configure),
configures the project with exactly those, for the default options and for one
other combination, installs it into a temporary prefix, and builds and runs the
Conan test_package's program and the vcpkg usage snippet's program against it with
find_package(ssepp). First it checks the recipe files: both conanfile.py compile,
vcpkg.json parses, its features are those the portfile maps, and every variable
either passes is one the project declares; and that a part asked for without its
dependency stops configuration.

    check_recipes.py --source-dir DIR --work-dir DIR --generator G --cxx CXX
                     [--cmake CMAKE] [--launcher L] [--with-redis ON|OFF]
"""
import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import time

# The project's options for its parts, what each builds, and the package that
# provides the dependency in Conan and in vcpkg (None: no dependency).
PARTS = {
    "SSE_WITH_ASIO": ("asio", "asio", "asio"),
    "SSE_WITH_TLS": ("tls", "openssl", "openssl"),
    "SSE_WITH_REDIS": ("redis", "hiredis", "hiredis"),
    "SSE_BUILD_COMPILED": ("compiled", None, None),
    "SSE_WITH_FMT": ("fmt", "fmt", "fmt"),
    "SSE_WITH_BOOST_ASIO": ("boost_asio", "boost", "boost-asio"),
}
# The parts built on standalone Asio: none of them exists without it.
ON_STANDALONE_ASIO = {"asio", "tls", "redis", "compiled"}

problems = []


def problem(message):
    problems.append(message)
    print("FAIL: " + message, flush=True)


def run(cmd, cwd=None, env=None):
    result = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        raise RuntimeError("failed (%d): %s\n%s" % (result.returncode, " ".join(cmd), result.stdout))
    return result.stdout


def cmake_bool(value):
    return "ON" if value else "OFF"


# --- Conan ------------------------------------------------------------------------

def conan_recipe(path):
    """The recipe's class attributes and the CMake variables its generate() sets, as
    functions of the options: {name: ("const", bool) or ("option", option name)}."""
    tree = ast.parse(open(path).read(), path)
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    if len(classes) != 1:
        raise RuntimeError("%s: expected one recipe class" % path)
    recipe = classes[0]
    attrs = {}
    for node in recipe.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                attrs[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    methods = {n.name: n for n in recipe.body if isinstance(n, ast.FunctionDef)}
    variables = {}
    for node in ast.walk(methods["generate"]):
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript)):
            continue
        target = node.targets[0]
        if ast.unparse(target.value) != "tc.cache_variables":
            continue
        name = ast.literal_eval(target.slice)
        value = node.value
        text = ast.unparse(value)
        m = re.fullmatch(r"bool\(self\.options\.(\w+)\)", text)
        if isinstance(value, ast.Constant) and isinstance(value.value, bool):
            variables[name] = ("const", value.value)
        elif m:
            variables[name] = ("option", m.group(1))
        else:
            raise RuntimeError("%s: generate() sets %s to %s, which this check cannot evaluate" % (path, name, text))
    target_names = set()
    file_names = set()
    for node in ast.walk(methods["package_info"]):
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("set_property") and len(node.args) == 2:
            key, value = (ast.literal_eval(a) for a in node.args)
            (target_names if key == "cmake_target_name" else file_names if key == "cmake_file_name" else set()).add(value)
    requires = set()
    for node in ast.walk(methods["requirements"]):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "self.requires":
            requires.add(ast.literal_eval(node.args[0]).split("/")[0])
    return attrs, variables, target_names, file_names, requires


def conan_args(variables, options):
    args = {}
    for name, (kind, value) in variables.items():
        args[name] = cmake_bool(value if kind == "const" else options[value])
    return args


# --- vcpkg ------------------------------------------------------------------------

def vcpkg_port(port_dir):
    """The portfile's feature -> variable mapping and its fixed -D options."""
    text = open(os.path.join(port_dir, "portfile.cmake")).read()
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    m = re.search(r"vcpkg_check_features\((.*?)\)", code, re.S)
    if not m:
        raise RuntimeError("portfile.cmake: no vcpkg_check_features")
    words = m.group(1).split()
    if words[:3] != ["OUT_FEATURE_OPTIONS", "FEATURE_OPTIONS", "FEATURES"]:
        raise RuntimeError("portfile.cmake: vcpkg_check_features is not OUT_FEATURE_OPTIONS FEATURE_OPTIONS FEATURES ...")
    pairs = words[3:]
    if len(pairs) % 2 or "INVERTED_FEATURES" in pairs:
        raise RuntimeError("portfile.cmake: FEATURES is not a list of feature/variable pairs")
    mapping = dict(zip(pairs[0::2], pairs[1::2]))
    m = re.search(r"vcpkg_cmake_configure\((.*?)\)", code, re.S)
    fixed = dict(re.findall(r"-D(\w+)=(\S+)", m.group(1))) if m else {}
    if not m or "${FEATURE_OPTIONS}" not in m.group(1):
        raise RuntimeError("portfile.cmake: vcpkg_cmake_configure does not pass ${FEATURE_OPTIONS}")
    m = re.search(r"vcpkg_cmake_config_fixup\(PACKAGE_NAME (\S+) CONFIG_PATH (\S+)\)", code)
    fixup = (m.group(1), m.group(2)) if m else None
    return code, mapping, fixed, fixup


def vcpkg_args(mapping, fixed, features):
    args = {var: cmake_bool(feature in features) for feature, var in mapping.items()}
    args.update(fixed)
    return args


# --- the project --------------------------------------------------------------------

def declared_variables(source_dir):
    text = open(os.path.join(source_dir, "CMakeLists.txt")).read()
    return set(re.findall(r"option\((\w+)", text)) | set(re.findall(r"set\((\w+) \S+ CACHE", text))


def install_and_consume(opts, name, args, programs):
    """Configures, builds and installs the project with `args`, checks which parts it
    installed, then builds and runs each program (a CMake project directory) against it."""
    start = time.monotonic()
    work = os.path.join(opts.work_dir, name)
    prefix = os.path.join(work, "prefix")
    common = ["-G", opts.generator, "-DCMAKE_CXX_COMPILER=" + opts.cxx, "-DCMAKE_BUILD_TYPE=Release"]
    if opts.launcher:
        common.append("-DCMAKE_CXX_COMPILER_LAUNCHER=" + opts.launcher)
    defs = ["-D%s=%s" % kv for kv in sorted(args.items())]
    run([opts.cmake, "-S", opts.source_dir, "-B", os.path.join(work, "lib"), "-DCMAKE_INSTALL_PREFIX=" + prefix]
        + common + defs)
    run([opts.cmake, "--build", os.path.join(work, "lib")])
    run([opts.cmake, "--install", os.path.join(work, "lib")])

    config_dir = os.path.join(prefix, "share", "cmake", "ssepp")
    expected = {part for var, (part, _, _) in PARTS.items() if args.get(var) == "ON"}
    if args.get("SSE_WITH_ASIO") != "ON":
        expected -= ON_STANDALONE_ASIO
    installed = {m.group(1) for f in os.listdir(config_dir) for m in [re.fullmatch(r"sse-(\w+)-targets\.cmake", f)] if m}
    if installed != expected:
        problem("%s: installed parts %s, expected %s" % (name, sorted(installed), sorted(expected)))
    libdir = os.path.join(prefix, "lib")
    has_lib = os.path.isdir(libdir) and any(f.startswith(("libssepp.", "ssepp.")) for f in os.listdir(libdir))
    if has_lib != ("compiled" in expected):
        problem("%s: the static library is %s" % (name, "there" if has_lib else "missing"))
    for label, project in programs:
        build = os.path.join(work, label)
        run([opts.cmake, "-S", project, "-B", build, "-DCMAKE_PREFIX_PATH=" + prefix] + common)
        run([opts.cmake, "--build", build])
        exe = [os.path.join(build, f) for f in ("test_package", "main") if os.path.exists(os.path.join(build, f))]
        out = run(exe[:1])
        if not out.strip().endswith(": ok"):
            problem("%s %s printed %r" % (name, label, out))
    print("%s: %s, parts %s, built and ran %s (%.1f s)" % (
        name, " ".join(defs), sorted(installed) or "core only", ", ".join(l for l, _ in programs),
        time.monotonic() - start), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--generator", required=True)
    parser.add_argument("--cxx", required=True)
    parser.add_argument("--launcher", default="")
    parser.add_argument("--cmake", default="cmake")
    parser.add_argument("--with-redis", default="ON")
    opts = parser.parse_args()
    opts.source_dir = os.path.abspath(opts.source_dir)
    opts.work_dir = os.path.abspath(opts.work_dir)
    shutil.rmtree(opts.work_dir, ignore_errors=True)
    os.makedirs(opts.work_dir)
    with_redis = opts.with_redis.upper() in ("ON", "1", "TRUE", "YES")

    conan_dir = os.path.join(opts.source_dir, "packaging", "conan")
    port_dir = os.path.join(opts.source_dir, "packaging", "vcpkg", "ports", "ssepp")
    declared = declared_variables(opts.source_dir)

    # Well-formed recipe files.
    env = dict(os.environ, PYTHONPYCACHEPREFIX=os.path.join(opts.work_dir, "pycache"))
    recipes = [os.path.join(conan_dir, "conanfile.py"), os.path.join(conan_dir, "test_package", "conanfile.py")]
    for recipe in recipes:
        run([sys.executable, "-m", "py_compile", recipe], env=env)
    attrs, variables, targets, files, requires = conan_recipe(recipes[0])
    if attrs.get("package_type") != "header-library":
        problem("conanfile.py: package_type is %r, not 'header-library'" % attrs.get("package_type"))
    if files != {"ssepp"}:
        problem("conanfile.py: cmake_file_name is %s, not ssepp" % sorted(files))
    wanted_targets = {"sse::sse"} | {"sse::" + part for part, _, _ in PARTS.values()}
    if not wanted_targets <= targets:
        problem("conanfile.py: package_info names no %s" % sorted(wanted_targets - targets))
    options, defaults = attrs.get("options", {}), attrs.get("default_options", {})
    if set(options) != set(defaults):
        problem("conanfile.py: options %s and default_options %s differ" % (sorted(options), sorted(defaults)))
    mapped_options = {v for k, v in variables.values() if k == "option"}
    if set(options) != mapped_options:
        problem("conanfile.py: options %s, but generate() maps %s" % (sorted(options), sorted(mapped_options)))
    for var, (kind, value) in variables.items():
        if var not in declared:
            problem("conanfile.py sets %s, which CMakeLists.txt does not declare" % var)
        package = PARTS.get(var, (None, None, None))[1]
        if kind == "option" and package and package not in requires:
            problem("conanfile.py: option %s (%s) requires no %s" % (value, var, package))

    manifest = json.load(open(os.path.join(port_dir, "vcpkg.json")))
    code, mapping, fixed, fixup = vcpkg_port(port_dir)
    features = manifest.get("features", {})
    if set(features) != set(mapping):
        problem("vcpkg.json has features %s, the portfile maps %s" % (sorted(features), sorted(mapping)))
    if not set(manifest.get("default-features", [])) <= set(features):
        problem("vcpkg.json: default-features name unknown features")
    hosts = {d["name"] for d in manifest.get("dependencies", []) if isinstance(d, dict) and d.get("host")}
    if not {"vcpkg-cmake", "vcpkg-cmake-config"} <= hosts:
        problem("vcpkg.json: vcpkg-cmake and vcpkg-cmake-config must be host dependencies")
    for feature, var in mapping.items():
        if var not in declared:
            problem("portfile.cmake maps %s to %s, which CMakeLists.txt does not declare" % (feature, var))
        package = PARTS.get(var, (None, None, None))[2]
        deps = {d if isinstance(d, str) else d["name"] for d in features.get(feature, {}).get("dependencies", [])}
        if package and package not in deps:
            problem("vcpkg.json: feature %s (%s) depends on no %s" % (feature, var, package))
    for var in fixed:
        if var not in declared:
            problem("portfile.cmake passes %s, which CMakeLists.txt does not declare" % var)
    if fixup != ("ssepp", "share/cmake/ssepp"):
        problem("portfile.cmake: vcpkg_cmake_config_fixup is %s, not PACKAGE_NAME ssepp CONFIG_PATH share/cmake/ssepp" % (fixup,))
    usage = open(os.path.join(port_dir, "usage")).read()
    snippet = [l.strip() for l in usage.splitlines() if l.startswith("    ") and not l.strip().startswith("#")]
    if "usage" not in code or "find_package(ssepp CONFIG REQUIRED)" not in snippet:
        problem("usage: not installed by the portfile, or no find_package(ssepp CONFIG REQUIRED)")
    if problems:
        sys.exit(1)
    print("recipe files: both conanfile.py compile; vcpkg.json parses; features %s match the portfile"
          % sorted(features), flush=True)

    # The consumers: the Conan test_package, and a project made of the usage snippet.
    test_package = os.path.join(conan_dir, "test_package")
    usage_project = os.path.join(opts.work_dir, "usage_project")
    os.makedirs(usage_project)
    with open(os.path.join(usage_project, "CMakeLists.txt"), "w") as f:
        f.write("cmake_minimum_required(VERSION 3.15)\nproject(usage LANGUAGES CXX)\n"
                "add_executable(main %s)\n%s\n" % (
                    os.path.join(test_package, "test_package.cpp").replace("\\", "/"), "\n".join(snippet)))

    conan_other = dict(defaults, with_openssl=True, with_hiredis=with_redis, compiled=True, with_fmt=True,
                       with_boost=True)
    runs = [
        ("conan_default", conan_args(variables, defaults), [("test_package", test_package)]),
        ("conan_tls_redis_compiled", conan_args(variables, conan_other), [("test_package", test_package)]),
        ("vcpkg_default", vcpkg_args(mapping, fixed, manifest.get("default-features", [])),
         [("test_package", test_package), ("usage", usage_project)]),
        ("vcpkg_core", vcpkg_args(mapping, fixed, []),
         [("test_package", test_package), ("usage", usage_project)]),
    ]
    start = time.monotonic()
    # ON means required: a part asked for whose dependency is missing stops configuration.
    refusals = [
        ("tls_without_asio", ["-DSSE_WITH_ASIO=OFF", "-DSSE_WITH_TLS=ON"], r"SSE_WITH_TLS=ON needs the transport"),
        ("redis_without_hiredis", ["-DSSE_WITH_REDIS=ON", "-DCMAKE_DISABLE_FIND_PACKAGE_hiredis=ON"],
         r"hiredis called with REQUIRED"),
    ]
    for name, defs, expect in refusals:
        result = subprocess.run([opts.cmake, "-S", opts.source_dir, "-B", os.path.join(opts.work_dir, name),
                                 "-G", opts.generator, "-DCMAKE_CXX_COMPILER=" + opts.cxx, "-DSSE_BUILD_TESTS=OFF",
                                 "-DSSE_BUILD_EXAMPLES=OFF"] + defs,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if result.returncode == 0 or not re.search(expect, result.stdout):
            problem("%s: configuration should fail mentioning %r\n%s" % (name, expect, result.stdout))
        else:
            print("%s: refused, as it should be" % name, flush=True)
    for name, args, programs in runs:
        try:
            install_and_consume(opts, name, args, programs)
        except (RuntimeError, OSError) as e:
            problem("%s: %s" % (name, e))
    if problems:
        sys.exit(1)
    print("%d installs, each consumed: %.1f s" % (len(runs), time.monotonic() - start))


if __name__ == "__main__":
    main()
