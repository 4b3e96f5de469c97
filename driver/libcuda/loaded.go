package libcuda

import (
	"bufio"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// MarkerSymbol is the data symbol gpubuf's libcuda.so.1 exports beside
// the driver API's, by which a process tells it from NVIDIA's.
const MarkerSymbol = "gpubuf_libcuda"

// Loaded is the path of the libcuda.so file mapped into this process, as
// /proc/self/maps names it (the file the dynamic linker opened, links
// resolved), or "" when none is.
func Loaded() (string, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// address perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) >= 6 && strings.HasPrefix(filepath.Base(fields[5]), "libcuda.so") {
			return fields[5], nil
		}
	}
	return "", sc.Err()
}

// Describe says whose driver library the file at path is: "gpubuf's
// emulated libcuda.so.1 (PATH)" when it exports MarkerSymbol, else
// "NVIDIA VERSION (PATH)", the version from the file's name as NVIDIA's
// driver installs it (libcuda.so.550.54.15), or "NVIDIA, version not in
// the file name (PATH)".
func Describe(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading the driver library: %w", err)
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		return "", fmt.Errorf("reading the driver library %s: %w", path, err)
	}
	for _, s := range syms {
		if s.Name == MarkerSymbol && s.Section != elf.SHN_UNDEF {
			return fmt.Sprintf("gpubuf's emulated libcuda.so.1 (%s)", path), nil
		}
	}
	v := strings.TrimPrefix(filepath.Base(path), "libcuda.so")
	if v = strings.TrimPrefix(v, "."); v == "" || v == "1" {
		return fmt.Sprintf("NVIDIA, version not in the file name (%s)", path), nil
	}
	return fmt.Sprintf("NVIDIA %s (%s)", v, path), nil
}
