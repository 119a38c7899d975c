package org.zeekanom.esnode;

import java.lang.instrument.Instrumentation;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Stand-in for the distribution's lib/entitlement-agent jar (not on Maven
 * Central). The server attaches it to itself at boot; like the original it
 * hands the Instrumentation to the entitlement library, which does the rest
 * (that library, and the java.base bridge it needs, are on Maven Central).
 * Before that it exports the bridge package (patched into java.base by
 * scripts/es-node) to every module of the boot layer, since the instrumented
 * JDK classes in any of them call into it.
 */
public class EntitlementAgent {
    public static void agentmain(String agentArgs, Instrumentation inst) throws Exception {
        Module base = Object.class.getModule();
        Set<Module> targets = new HashSet<>(ModuleLayer.boot().modules());
        targets.add(ClassLoader.getSystemClassLoader().getUnnamedModule());
        inst.redefineModule(base, Set.of(), Map.of("org.elasticsearch.entitlement.bridge", targets), Map.of(), Set.of(), Map.of());
        Class<?> init = Class.forName("org.elasticsearch.entitlement.initialization.EntitlementInitialization");
        init.getMethod("initialize", Instrumentation.class).invoke(null, inst);
    }
}
