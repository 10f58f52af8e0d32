package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	sampleInterval = 20 * time.Millisecond

	// userHZ is the unit of utime/stime in /proc/<pid>/stat. The kernel fixes it at 100 for
	// user space on every architecture Terraform ships for, and reading sysconf(_SC_CLK_TCK)
	// would need cgo.
	userHZ = 100

	// providerComm is the provider's name as the kernel keeps it: comm is cut to 15 bytes.
	providerComm = "terraform-provi"
)

// pluginUsage is what the sampler saw of the provider processes one terraform command started.
type pluginUsage struct {
	peakRSS   uint64        // bytes: the highest VmHWM (or VmRSS) seen
	cpu       time.Duration // user+system, summed over the provider processes
	processes int
}

// pluginSampler polls /proc while one terraform command runs and tracks its children that are
// the provider binary. Terraform starts a fresh plugin process for each graph walk, so a
// command can have several, one after another.
//
// Only direct children of that terraform process count, so provider processes of anything else
// running on the machine (acceptance tests, another benchmark) never leak into the numbers.
type pluginSampler struct {
	terraformPID int
	providerExe  string

	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	ignored map[int]bool          // processes that are not children of terraformPID
	cpu     map[int]time.Duration // last user+system time seen per provider process
	peakRSS uint64
}

func startSampler(terraformPID int, providerExe string) *pluginSampler {
	s := &pluginSampler{
		terraformPID: terraformPID,
		providerExe:  providerExe,
		stop:         make(chan struct{}),
		done:         make(chan struct{}),
		ignored:      map[int]bool{},
		cpu:          map[int]time.Duration{},
	}
	go s.loop()
	return s
}

func (s *pluginSampler) loop() {
	defer close(s.done)
	t := time.NewTicker(sampleInterval)
	defer t.Stop()
	s.sample()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.sample()
		}
	}
}

// finish stops sampling and returns what was seen. CPU time is the last value read before each
// process exited, so it can fall short by up to one sampling interval per process.
func (s *pluginSampler) finish() pluginUsage {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	u := pluginUsage{peakRSS: s.peakRSS, processes: len(s.cpu)}
	for _, c := range s.cpu {
		u.cpu += c
	}
	return u
}

func (s *pluginSampler) sample() {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || s.ignored[pid] {
			continue
		}
		st, err := readStat(pid)
		if err != nil {
			continue // it exited between ReadDir and now
		}
		if st.ppid != s.terraformPID {
			// A process is never adopted by terraform later, so it need not be read again.
			s.ignored[pid] = true
			continue
		}
		// A child that has not yet called exec still looks like terraform: look again next time.
		if _, known := s.cpu[pid]; !known && !s.isProvider(pid, st.comm) {
			continue
		}
		s.cpu[pid] = st.cpu
		if rss := readPeakRSS(pid); rss > s.peakRSS {
			s.peakRSS = rss
		}
	}
}

func (s *pluginSampler) isProvider(pid int, comm string) bool {
	if exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe")); err == nil && exe == s.providerExe {
		return true
	}
	return strings.HasPrefix(comm, providerComm)
}

type procStat struct {
	comm string
	ppid int
	cpu  time.Duration
}

// readStat parses /proc/<pid>/stat. comm may contain spaces and parentheses, so the fields are
// read after its last closing parenthesis.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return procStat{}, errors.New("malformed stat")
	}
	// After comm: state(3) ppid(4) ... utime(14) stime(15), numbered as in proc(5).
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 13 {
		return procStat{}, errors.New("short stat")
	}
	ppid, err1 := strconv.Atoi(f[1])
	utime, err2 := strconv.ParseInt(f[11], 10, 64)
	stime, err3 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return procStat{}, err
	}
	ticks := time.Duration(utime + stime)
	return procStat{comm: string(b[open+1 : end]), ppid: ppid, cpu: ticks * time.Second / userHZ}, nil
}

// readPeakRSS returns VmHWM in bytes, or VmRSS where the kernel does not report a high-water mark.
func readPeakRSS(pid int) uint64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	var hwm, rss uint64
	for line := range strings.SplitSeq(string(b), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || (name != "VmHWM" && name != "VmRSS") {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			continue
		}
		if name == "VmHWM" {
			hwm = kb * 1024
		} else {
			rss = kb * 1024
		}
	}
	if hwm > 0 {
		return hwm
	}
	return rss
}
