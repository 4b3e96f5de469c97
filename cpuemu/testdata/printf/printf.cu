// Kernels that call printf and assert, for TestPrintf* and TestAssert*
// (cpuemu/printf_test.go). Every value is a constant or a parameter, so
// the expected text follows from C's printf rules alone.
#include <cassert>
#include <cstdio>

extern "C" {

// conversions prints every conversion CUDA documents, once.
__global__ void conversions(const char *s, const int *p, int *ret)
{
    ret[0] = printf("%d %i %u %o %x %X %c %%\n", -42, 42, 4294967295u, 8, 255, 255, 'z');
    ret[1] = printf("%f %e %E %g %G %a %A\n", 1.5, 12345.678, 0.00012345, 0.0001, 1e-5, 1.0, -0.5);
    ret[2] = printf("%s|%p|%p|%s\n", s, p, (void *)0, (const char *)0);
    ret[3] = printf("no arguments\n");
}

// flags prints flags, widths and precisions of every kind.
__global__ void flags()
{
    printf("[%5d] [%-5d] [%05d] [%+d] [% d] [%.3d] [%8.3d] [%-+6d] [%+ d] [%-05d] [%05.2d]\n", 42, 42, 42, 42, 42, 7, 7, 7, 7, 7, -7);
    printf("[%#o] [%#x] [%#X] [%#o] [%#x] [%.0d] [%.0x] [%#.0o] [%5.0d] [%#8x] [%#08x] [%+u]\n", 8, 255, 255, 0, 0, 0, 0, 0, 0, 255, 255, 5u);
    printf("[%*d] [%-*d] [%*d] [%.*d] [%.*d] [%*.*f]\n", 5, 42, 4, 7, -4, 7, 3, 5, -1, 5, 8, 2, 3.14159);
    printf("[%8.3f] [%-8.2f] [%08.2f] [%+.1f] [% .1f] [%#.0f] [%.0f] [%.0f] [%010.2f] [%.3f] [%f]\n", 3.14159, 2.5, -3.14159, 1.25, 1.25, 3.0, 2.5, 3.5, -3.14159, 2.0005, 1e20);
    printf("[%.2e] [%12.4E] [%-12.1e] [%#.0e] [%.0e] [%e] [%e] [%+e] [%013.3e]\n", 12345.678, 0.000123456, 1e100, 5.0, 15.0, 0.0, -1e-300, 1.0, -2.5);
    printf("[%g] [%g] [%g] [%g] [%g] [%g] [%#g] [%.3g] [%.0g] [%#.3g] [%G] [%g] [%-8g] [%08g] [%g] [%.10g]\n", 100000.0, 1e6, 0.0001, 0.00001, 123456.0, 1234567.0, 1.0, 3.14159, 0.5, 1.0, 1e-10, 0.0, 1.5, -1.5, 0.1, 1.0 / 3);
    printf("[%a] [%a] [%a] [%.2a] [%.0a] [%A] [%#.0a] [%a] [%a] [%.1a] [%.1a] [%12a] [%-+12a] [%012a]\n", 1.0, 0.1, -2.5, 1.0, 1.5, 255.0, 1.0, 0.0, 4.9406564584124654e-324, 1.96875, 1.03125, 1.0, 1.0, 1.0);
    printf("[%5c] [%-3c] [%c]\n", 'a', 'b', 'c');
    printf("[%s] [%10s] [%-10s] [%.3s] [%10.2s] [%.0s]\n", "hello", "hello", "hello", "hello", "hello", "hello");
    double inf = __longlong_as_double(0x7ff0000000000000LL);
    double nan = __longlong_as_double(0x7ff8000000000000LL);
    printf("[%f] [%e] [%g] [%5.1f] [%-6f] [%E] [%010f] [%+f] [%G] [%a] [%A] [% f]\n", inf, -inf, nan, inf, nan, inf, -inf, inf, -nan, inf, nan, inf);
    printf("[%p] [%20p] [%-20p|] [%p]\n", (void *)0x1234, (void *)0xabcdef, (void *)0xabcdef, (void *)0);
}

// lengths prints the h, hh, l and ll length modifiers.
__global__ void lengths()
{
    printf("%hd %hd %hu %hhd %hhu %hx %hhx\n", 65537, 40000, -1, 200, 300, 0x12345678, 0x1ff);
    printf("%ld %lu %lld %llu %lx %llX %lo %li %llx\n", -9223372036854775807LL - 1, 18446744073709551615ULL, -1LL,
           18446744073709551615ULL, 0xdeadbeefcafef00dULL, 0xdeadbeefcafef00dULL, 8LL, 123LL, 1LL << 40);
    printf("%lf %lc %le\n", 2.5, 'q', 2.5);
}

// layout packs mixed arguments: ints at 0, 4 and 8, the double at 16
// and the pointer at 24, as C's default promotions and natural alignment
// place them.
__global__ void layout(int *p, int x)
{
    char c = 'A' + x;
    short h = -x;
    float f = x * 0.5f;
    printf("%d %c %hd %f %p\n", x, c, h, f, p);
    printf("%d %lld %d %f %c\n", 1, 2LL, 3, 4.0f, 'e');
}

// many passes 32 arguments, the most CUDA's printf takes, then 33: the
// 33rd is ignored and its conversion printed as it stands.
__global__ void many(int *ret)
{
    ret[0] = printf("%d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d\n",
                    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32);
    ret[1] = printf("%d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d|%s\n",
                    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, "x");
}

// format prints a format string the host wrote to device memory, with
// one int argument: a null format, a bad one, and one that asks for a
// string the kernel was not given show how each fails.
__global__ void format(const char *f, int *ret)
{
    ret[threadIdx.x] = printf(f, 7);
}

// str prints a string from device memory: the host's, and one the block
// wrote to shared memory.
__global__ void str(const char *s)
{
    __shared__ char buf[8];
    if (threadIdx.x < 7)
        buf[threadIdx.x] = 'a' + threadIdx.x;
    if (threadIdx.x == 7)
        buf[7] = 0;
    __syncthreads();
    if (threadIdx.x == 0)
        printf("%s|%s\n", s, buf);
}

// order prints one line per thread, twice, so the order of the lines
// shows the schedule.
__global__ void order()
{
    printf("block %d thread %d\n", blockIdx.x, threadIdx.x);
    printf("block %d thread %d again\n", blockIdx.x, threadIdx.x);
}

// check fails its assertion in the threads whose value is 100 or more.
__global__ void check(const int *a, int *out)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int x = a[i];
    assert(x < 100);
    out[i] = x + 1;
}

} // extern "C"
