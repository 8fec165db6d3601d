/** JMH micro-benchmarks and the side-by-side load harness. */
package io.jhv.bench;
