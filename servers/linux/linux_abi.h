// What the personality needs of Linux's x86-64 user ABI: system-call
// numbers, errno values, and the layouts of the structures it fills in
// (facts from the Linux UAPI headers, written out here).
#pragma once

#include <stdint.h>

#include "mica/errors.h"

namespace lx {

enum Sys : uint64_t {
    kRead = 0, kWrite = 1, kOpen = 2, kClose = 3, kStat = 4, kFstat = 5, kLstat = 6, kPoll = 7,
    kLseek = 8, kMmap = 9, kMprotect = 10, kMunmap = 11, kBrk = 12, kRtSigaction = 13,
    kRtSigprocmask = 14, kMremap = 25, kRtSigreturn = 15, kIoctl = 16, kPread64 = 17, kPwrite64 = 18, kReadv = 19, kWritev = 20,
    kAccess = 21, kPipe = 22, kSchedYield = 24, kMadvise = 28, kDup = 32, kDup2 = 33, kPause = 34, kNanosleep = 35, kGetitimer = 36, kAlarm = 37, kSetitimer = 38,
    kSelect = 23, kGetpid = 39, kSendfile = 40, kSocket = 41, kConnect = 42, kAccept = 43, kSendto = 44,
    kRecvfrom = 45, kSendmsg = 46, kRecvmsg = 47, kShutdown = 48, kBind = 49, kListen = 50, kGetsockname = 51,
    kGetpeername = 52, kSocketpair = 53, kSetsockopt = 54, kGetsockopt = 55, kClone = 56, kFork = 57, kVfork = 58, kExecve = 59, kExit = 60, kWait4 = 61,
    kKill = 62, kUname = 63, kFcntl = 72, kFsync = 74, kFdatasync = 75, kFtruncate = 77,
    kGetcwd = 79, kChdir = 80, kRename = 82, kMkdir = 83, kRmdir = 84, kUnlink = 87,
    kLink = 86, kSymlink = 88, kReadlink = 89, kChmod = 90, kFchmod = 91, kChown = 92, kFchown = 93, kLchown = 94, kUmask = 95, kMknod = 133, kGettimeofday = 96, kGetrlimit = 97, kSysinfo = 99,
    kGetuid = 102, kGetgid = 104, kGeteuid = 107, kGetegid = 108, kSetpgid = 109, kGetppid = 110,
    kGetpgrp = 111, kSetsid = 112, kGetgroups = 115, kGetpgid = 121, kGetsid = 124, kRtSigpending = 127, kRtSigsuspend = 130, kSigaltstack = 131, kStatfs = 137, kFstatfs = 138,
    kPrctl = 157, kSync = 162, kSchedSetaffinity = 203, kSyncfs = 306, kArchPrctl = 158, kGettid = 186, kTkill = 200, kTime = 201, kFutex = 202,
    kSchedGetaffinity = 204, kGetdents64 = 217, kSetTidAddress = 218, kClockGettime = 228,
    kClockGetres = 229, kClockNanosleep = 230, kExitGroup = 231, kTgkill = 234, kOpenat = 257,
    kMkdirat = 258, kMknodat = 259, kFchownat = 260, kNewfstatat = 262, kUnlinkat = 263, kRenameat = 264, kLinkat = 265, kSymlinkat = 266, kReadlinkat = 267,
    kFchmodat = 268, kFaccessat = 269, kPselect6 = 270, kPpoll = 271, kSetRobustList = 273, kUtimensat = 280, kDup3 = 292, kPipe2 = 293, kAccept4 = 288, kPrlimit64 = 302, kGetrandom = 318,
    kRseq = 334, kClone3 = 435, kFaccessat2 = 439,
};

enum Errno : int64_t {
    kEPERM = 1, kENOENT = 2, kESRCH = 3, kEINTR = 4, kEIO = 5, kENXIO = 6, kE2BIG = 7, kENOEXEC = 8, kEBADF = 9, kECHILD = 10,
    kEAGAIN = 11, kENOMEM = 12, kEACCES = 13, kEFAULT = 14, kEEXIST = 17, kENOTDIR = 20,
    kEISDIR = 21, kEINVAL = 22, kEMFILE = 24, kENOTTY = 25, kENOSPC = 28, kESPIPE = 29,
    kEROFS = 30, kEMLINK = 31, kEPIPE = 32, kERANGE = 34, kEDEADLK = 35, kENAMETOOLONG = 36, kENOLCK = 37, kENOSYS = 38, kENOTEMPTY = 39, kEOVERFLOW = 75,
    kENOTSOCK = 88, kEDESTADDRREQ = 89, kEMSGSIZE = 90, kENOPROTOOPT = 92, kEPROTONOSUPPORT = 93,
    kESOCKTNOSUPPORT = 94, kEOPNOTSUPP = 95, kEAFNOSUPPORT = 97, kEADDRINUSE = 98, kENETUNREACH = 101,
    kECONNRESET = 104, kEISCONN = 106, kENOTCONN = 107, kETIMEDOUT = 110, kECONNREFUSED = 111,
    kEALREADY = 114, kEINPROGRESS = 115,
};

// A Mica error as the errno a Linux program expects for it.
inline int64_t errno_of(int64_t e) {
    switch (e) {
        case mica::kErrNotFound: return kENOENT;
        case mica::kErrAlreadyExists: return kEEXIST;
        case mica::kErrNotDirectory: return kENOTDIR;
        case mica::kErrIsDirectory: return kEISDIR;
        case mica::kErrNotEmpty: return kENOTEMPTY;
        case mica::kErrNoSpace: return kENOSPC;
        case mica::kErrNameTooLong: return kENAMETOOLONG;
        case mica::kErrReadOnly: return kEROFS;
        case mica::kErrAccessDenied: return kEACCES;
        case mica::kErrBadAddress: return kEFAULT;
        case mica::kErrNoMemory:
        case mica::kErrQuotaExceeded: return kENOMEM;
        case mica::kErrLimit: return kEAGAIN;
        case mica::kErrInvalidArgument:
        case mica::kErrOutOfRange: return kEINVAL;
        case mica::kErrWouldBlock: return kEAGAIN;
        case mica::kErrTimedOut: return kETIMEDOUT;
        case mica::kErrConnectionReset: return kECONNRESET;
        case mica::kErrConnectionRefused: return kECONNREFUSED;
        case mica::kErrAddressInUse: return kEADDRINUSE;
        case mica::kErrNotConnected: return kENOTCONN;
        case mica::kErrInProgress: return kEINPROGRESS;
        case mica::kErrUnreachable: return kENETUNREACH;
        default: return kEIO;
    }
}

// fcntl's lock commands
constexpr uint64_t kFGetlk = 5, kFSetlk = 6, kFSetlkw = 7;

// open flags (octal, as in <fcntl.h>)
constexpr uint64_t kOAccMode = 03, kORdOnly = 0, kOWrOnly = 01, kORdWr = 02, kOCreat = 0100,
                   kOExcl = 0200, kOTrunc = 01000, kOAppend = 02000, kONonblock = 04000,
                   kODirectory = 0200000, kOCloexec = 02000000;
constexpr int64_t kAtFdCwd = -100;
constexpr uint64_t kAtRemoveDir = 0x200, kAtSymlinkNofollow = 0x100, kAtEmptyPath = 0x1000;

// mmap
constexpr uint64_t kProtRead = 1, kProtWrite = 2, kProtExec = 4;
constexpr uint64_t kMapShared = 1, kMapPrivate = 2, kMapFixed = 0x10, kMapAnonymous = 0x20,
                   kMapNoreserve = 0x4000, kMapPopulate = 0x8000, kMapStack = 0x20000,
                   kMapFixedNoreplace = 0x100000;

// file types in st_mode
constexpr uint32_t kSIfSock = 0140000, kSIfReg = 0100000, kSIfDir = 0040000, kSIfLnk = 0120000,
                   kSIfChr = 0020000, kSIfFifo = 0010000, kSIfBlk = 0060000, kSIfMt = 0170000;

struct Stat {  // struct stat on x86-64
    uint64_t dev, ino, nlink;
    uint32_t mode, uid, gid, pad0;
    uint64_t rdev;
    int64_t size, blksize, blocks;
    int64_t atime, atime_ns, mtime, mtime_ns, ctime, ctime_ns;
    int64_t reserved[3];
};
static_assert(sizeof(Stat) == 144);

struct Statfs {  // struct statfs on x86-64
    int64_t type, bsize;
    uint64_t blocks, bfree, bavail, files, ffree;
    int32_t fsid[2];
    int64_t namelen, frsize, flags, spare[4];
};
static_assert(sizeof(Statfs) == 120);

struct Utsname {
    char sysname[65], nodename[65], release[65], version[65], machine[65], domainname[65];
};

struct Timespec {
    int64_t sec, nsec;
};

struct Iovec {
    uint64_t base, len;
};

struct Winsize {
    uint16_t rows, cols, xpixel, ypixel;
};

struct Termios {  // the kernel's struct termios (ioctl TCGETS)
    uint32_t iflag, oflag, cflag, lflag;
    uint8_t line, cc[19];
};

struct Sysinfo {
    int64_t uptime;
    uint64_t loads[3], totalram, freeram, sharedram, bufferram, totalswap, freeswap;
    uint16_t procs, pad;
    uint64_t totalhigh, freehigh;
    uint32_t mem_unit;
    char reserved[4];
};

// auxiliary vector keys
enum Aux : uint64_t {
    kAtNull = 0, kAtPhdr = 3, kAtPhent = 4, kAtPhnum = 5, kAtPagesz = 6, kAtBase = 7,
    kAtFlags = 8, kAtEntry = 9, kAtUid = 11, kAtEuid = 12, kAtGid = 13, kAtEgid = 14,
    kAtPlatform = 15, kAtHwcap = 16, kAtClktck = 17, kAtSecure = 23, kAtRandom = 25,
    kAtExecfn = 31,
};

// poll's events
constexpr int16_t kPollIn = 0x1, kPollOut = 0x4, kPollErr = 0x8, kPollHup = 0x10, kPollNval = 0x20,
                  kPollRdnorm = 0x40, kPollWrnorm = 0x100;

// ioctl requests
constexpr uint64_t kTcgets = 0x5401, kTcsets = 0x5402, kTcsetsw = 0x5403, kTcsetsf = 0x5404,
                   kTiocgpgrp = 0x540f, kTiocspgrp = 0x5410, kTiocgwinsz = 0x5413, kTiocgsid = 0x5429,
                   kFionread = 0x541b, kFionbio = 0x5421;

constexpr uint64_t kArchSetFs = 0x1002, kArchGetFs = 0x1003;

}  // namespace lx
