/** The consumer as a module: on the module path it reads io.eventwatcher and nothing else. */
module example.consumer {
  requires io.eventwatcher;
}
