// Particle-wise BRO as a half-shell cell sweep, in C++ with OpenMP: the
// algorithm of sweep_baseline.py (cell lists rebuilt every step, each pair
// of neighbouring cells visited once, each overlapping pair's unit vector
// added to both spheres, then every active sphere moved), with the same
// hashed kicks as packing_lite.run_bro. Built and loaded by
// sweep_baseline.py; see there for how it is checked and timed.
//
// Threads split the sweep by slabs of cells along x; each thread adds into
// its own copy of the sums, and the copies are added in a fixed order, so
// a run does not depend on how the work was scheduled (a run stops if
// OpenMP gives it fewer threads than asked).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <new>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

const uint64_t kGolden = 0x9E3779B97F4A7C15ULL;
const uint64_t kStreamFactor = 1;  // _rng.STREAM_FACTOR

inline uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// _rng.uniform(seed, step, a, b, stream)
inline double uniform(uint64_t seed, uint64_t step, uint64_t a, uint64_t b,
                      uint64_t stream) {
    uint64_t h = mix(seed + kGolden * (stream + 1));
    h = mix(h + kGolden * (step + 1));
    h = mix(h + kGolden * (a + 1));
    h = mix(h + kGolden * (b + 1));
    return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);
}

// packing_lite.packing.wrap: a coordinate wrapped into [0, box), with its
// corrections for results that round onto box or below 0
inline double wrap(double x, double box) {
    if (0.0 <= x && x < box) return x;
    double y = x - box * std::floor(x / box);
    if (y < 0.0) y += box;
    if (y >= box) y = 0.0;
    if (!(0.0 <= y && y < box)) {
        y = std::fmod(x, box);
        if (y < 0.0) y += box;
        if (y >= box) y = 0.0;
    }
    return y;
}

inline int wrap_cell(int c, int side) {
    return c < 0 ? c + side : (c >= side ? c - side : c);
}

}  // namespace

extern "C" {

// Run up to `steps` steps of BRO in place on `positions` (n x 3, row
// major, in [0, box)) with `side` cells a side, each at least one contact
// distance wide (the caller checks the arguments); writes the active
// fraction at the start of each step taken into `f_a` and returns how many
// steps were taken (fewer if absorbed), or -1 if out of memory, or -2 if
// OpenMP ran fewer threads than asked (how many in `used_threads`).
int64_t sweep_bro(double *positions, const double *radii, int64_t n, double box,
                  double eps, int64_t steps, uint64_t seed, int64_t threads,
                  int64_t side, double *f_a, int64_t *used_threads) try {
#ifdef _OPENMP
    omp_set_dynamic(0);
    omp_set_num_threads(static_cast<int>(threads));
#endif
    const int64_t n_cells = static_cast<int64_t>(side) * side * side;
    const double inv_width = side / box;
    const double inv_box = 1.0 / box;
    std::vector<int64_t> start(n_cells + 1), fill(n_cells);
    std::vector<int64_t> order(n), cell_of(n);
    std::vector<double> vec(3 * n * threads);
    std::vector<unsigned char> active(n * threads);
    int ahead[13][3];
    int na = 0;
    for (int dx = -1; dx <= 1; ++dx)
        for (int dy = -1; dy <= 1; ++dy)
            for (int dz = -1; dz <= 1; ++dz)
                if (dx > 0 || (dx == 0 && (dy > 0 || (dy == 0 && dz > 0)))) {
                    ahead[na][0] = dx;
                    ahead[na][1] = dy;
                    ahead[na][2] = dz;
                    ++na;
                }

    *used_threads = threads;
    for (int64_t t = 0; t < steps; ++t) {
        // counting sort of the spheres by cell
        std::fill(start.begin(), start.end(), 0);
        for (int64_t i = 0; i < n; ++i) {
            int64_t c = 0;
            for (int k = 0; k < 3; ++k) {
                int ck = static_cast<int>(positions[3 * i + k] * inv_width);
                c = c * side + (ck < side ? ck : side - 1);
            }
            cell_of[i] = c;
            ++start[c + 1];
        }
        for (int64_t c = 0; c < n_cells; ++c) start[c + 1] += start[c];
        for (int64_t c = 0; c < n_cells; ++c) fill[c] = start[c];
        for (int64_t i = 0; i < n; ++i) order[fill[cell_of[i]]++] = i;

        // half-shell sweep
        int64_t team = 1;
#pragma omp parallel
        {
#ifdef _OPENMP
            const int64_t me = omp_get_thread_num();
#pragma omp single
            team = omp_get_num_threads();
#else
            const int64_t me = 0;
#endif
            double *v = vec.data() + 3 * n * me;
            unsigned char *act = active.data() + n * me;
            std::fill(v, v + 3 * n, 0.0);
            std::fill(act, act + n, 0);
#pragma omp for schedule(static)
            for (int cx = 0; cx < side; ++cx) {
                for (int cy = 0; cy < side; ++cy) {
                    for (int cz = 0; cz < side; ++cz) {
                        const int64_t c =
                            (static_cast<int64_t>(cx) * side + cy) * side + cz;
                        for (int64_t a = start[c]; a < start[c + 1]; ++a) {
                            const int64_t i = order[a];
                            const double x0 = positions[3 * i];
                            const double x1 = positions[3 * i + 1];
                            const double x2 = positions[3 * i + 2];
                            const double ri = radii[i];
                            for (int o = 0; o <= na; ++o) {
                                int64_t first, stop;
                                if (o == 0) {
                                    first = a + 1;
                                    stop = start[c + 1];
                                } else {
                                    const int64_t e =
                                        (static_cast<int64_t>(wrap_cell(cx + ahead[o - 1][0], side)) * side
                                         + wrap_cell(cy + ahead[o - 1][1], side)) * side
                                        + wrap_cell(cz + ahead[o - 1][2], side);
                                    first = start[e];
                                    stop = start[e + 1];
                                }
                                for (int64_t q = first; q < stop; ++q) {
                                    const int64_t j = order[q];
                                    double d0 = x0 - positions[3 * j];
                                    d0 -= box * std::nearbyint(d0 * inv_box);
                                    double d1 = x1 - positions[3 * j + 1];
                                    d1 -= box * std::nearbyint(d1 * inv_box);
                                    double d2 = x2 - positions[3 * j + 2];
                                    d2 -= box * std::nearbyint(d2 * inv_box);
                                    const double r2 = d0 * d0 + d1 * d1 + d2 * d2;
                                    const double contact = ri + radii[j];
                                    if (r2 < contact * contact && r2 > 0.0) {
                                        const double r = std::sqrt(r2);
                                        const double u0 = d0 / r, u1 = d1 / r,
                                                     u2 = d2 / r;
                                        v[3 * i] += u0;
                                        v[3 * i + 1] += u1;
                                        v[3 * i + 2] += u2;
                                        v[3 * j] -= u0;
                                        v[3 * j + 1] -= u1;
                                        v[3 * j + 2] -= u2;
                                        act[i] = 1;
                                        act[j] = 1;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        if (team != threads) {  // a copy of the sums would not be cleared
            *used_threads = team;
            return -2;
        }

        // add the threads' sums in a fixed order and move the active spheres
        int64_t moving = 0;
#pragma omp parallel for schedule(static) reduction(+ : moving)
        for (int64_t i = 0; i < n; ++i) {
            double s0 = vec[3 * i], s1 = vec[3 * i + 1], s2 = vec[3 * i + 2];
            unsigned char on = active[i];
            for (int64_t m = 1; m < threads; ++m) {
                s0 += vec[3 * n * m + 3 * i];
                s1 += vec[3 * n * m + 3 * i + 1];
                s2 += vec[3 * n * m + 3 * i + 2];
                on |= active[n * m + i];
            }
            if (!on) continue;
            ++moving;
            const double f = eps * uniform(seed, t, i, 0, kStreamFactor);
            const double s[3] = {s0, s1, s2};
            for (int k = 0; k < 3; ++k)
                positions[3 * i + k] = wrap(positions[3 * i + k] + f * s[k], box);
        }
        f_a[t] = static_cast<double>(moving) / static_cast<double>(n);
        if (moving == 0) return t + 1;
    }
    return steps;
} catch (const std::bad_alloc &) {
    return -1;
}

}  // extern "C"
