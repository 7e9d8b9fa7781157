"""A 10,000-line kernel file whose one mistake is on line 9,999."""
# // test: error
# // error: 9999:12: use of undeclared identifier 'missing'


def source() -> str:
    lines = ["__global__ void k(int *out)", "{", "    int acc = 0;"]
    while len(lines) < 9998:
        lines.append(f"    acc += {len(lines)} * (int)threadIdx.x;")
    lines.append("    acc += missing;")
    lines.append("    out[0] = acc; }")
    return "\n".join(lines) + "\n"
