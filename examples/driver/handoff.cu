// A racy warp handoff: lane 0 writes a value and raises a flag with plain
// stores; lane 1 of the next warp polls the flag with plain loads and reads
// the value. Nothing orders the two (no fence, no volatile or atomic
// access): the race checker reports both accesses. Compiled to handoff.ptx
// by gen.sh.
extern "C" __global__ void handoff(int *data, int *flag, int *out) {
  if (threadIdx.x == 0) {
    data[0] = 42;
    flag[0] = 1;
  }
  if (threadIdx.x == 32) {
    out[0] = flag[0] ? data[0] : -1;
  }
}
