#!/usr/bin/env bash
# Packs every library, checks what each package carries, then builds a fresh console app from the packed packages
# with the README's snippets verbatim (the `<!-- snippet: NAME -->` blocks) and runs each of them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
feed="$work/feed"

dotnet pack Ebpf.sln -c Release --no-build -o "$feed" -nologo -clp:ErrorsOnly >/dev/null
for id in Ebpf.Abstractions Ebpf Ebpf.Interpreter Ebpf.Il Ebpf.X64 Ebpf.Vm Ebpf.Engines Ebpf.Conformance; do
  nupkg=$(ls "$feed/$id".[0-9]*.nupkg | grep -v snupkg | head -n 1)
  [ -e "${nupkg%.nupkg}.snupkg" ] || { echo "package check: $id has no .snupkg symbols package" >&2; exit 1; }
  python3 - "$nupkg" "$id" <<'PY'
import sys, zipfile, re
path, pid = sys.argv[1], sys.argv[2]
z = zipfile.ZipFile(path)
nuspec = z.read(pid + ".nuspec").decode()
missing = [what for what, pattern in [
    ("readme", r"<readme>README\.md</readme>"), ("tags", r"<tags>[^<]+</tags>"), ("description", r"<description>[^<]+</description>"),
    ("licence", r'<license type="expression">MIT</license>'), ("commit (SourceLink)", r'<repository [^>]*commit="[0-9a-f]{40}"'),
] if not re.search(pattern, nuspec)]
if "README.md" not in z.namelist(): missing.append("README.md file")
if missing: sys.exit(f"package check: {pid} lacks " + ", ".join(missing))
PY
done
echo "package check: 8 library packages with readme, tags, description, licence, commit and symbols"

snippet() { # the block that follows <!-- snippet: NAME --> in the README
  awk -v marker="<!-- snippet: $1 -->" '$0 == marker {found=1; next} found && /^```/ && !inside {inside=1; next} inside && /^```/ {exit} inside {print}' "$root/README.md"
}

# Every other package comes from the machine's usual source (the first enabled one of the user configuration).
usual=$(cd "$work" && dotnet nuget list source --format short | awk '$1 ~ /^E/ {print $2}' | head -n 1)
app="$work/app"
mkdir -p "$app" "$work/packages"
cd "$app"
dotnet new console --framework net10.0 --name ReadmeApp --output . >/dev/null
cat > nuget.config <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <config><add key="globalPackagesFolder" value="$work/packages" /></config>
  <packageSources>
    <clear />
    <add key="packed" value="$feed" />
    <add key="usual" value="$usual" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="packed"><package pattern="Ebpf*" /></packageSource>
    <packageSource key="usual"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
XML
snippet packages > add-packages.sh
bash -e add-packages.sh >/dev/null
for name in di elf rbpf verify kernel; do
  snippet "$name" > Program.cs
  [ -s Program.cs ] || { echo "package check: no '$name' snippet in the README" >&2; exit 1; }
  dotnet build -c Release -nologo -clp:ErrorsOnly -v:q
  echo "README snippet '$name':"
  (cd "$root" && "$app/bin/Release/net10.0/ReadmeApp") | sed 's/^/  /'
done
